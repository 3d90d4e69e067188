"""Data: shapes, ranges, determinism, where files are found, and clear errors."""
import gzip
import math

import numpy as np
import pytest
import torch

from course_lib import CourseInputError, DataNotFoundError, load_dataset, load_fashion_mnist, make_sprites
from course_lib.data import fashion_mnist as fm
from course_lib.data import render_sprites, toy2d


def write_idx(path, array):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def small_full_set(tmp_path):
    """A folder holding the four files of a (tiny) full set: 30 white training and 20 white test images."""
    folder = tmp_path / "fmnist"
    folder.mkdir()
    for split, n in (("train", 30), ("t10k", 20)):
        write_idx(folder / f"{split}-images-idx3-ubyte.gz", np.full((n, 28, 28), 255))
        write_idx(folder / f"{split}-labels-idx1-ubyte.gz", np.arange(n) % 10)
    return folder


@pytest.fixture
def nowhere(tmp_path, monkeypatch):
    """No full data set anywhere: only the shipped subset."""
    monkeypatch.delenv("COURSE_LIB_FASHION_MNIST", raising=False)
    monkeypatch.setattr(fm, "SYSTEM_DIR", tmp_path / "system")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path


# -- Fashion-MNIST ------------------------------------------------------------------------

def test_shipped_subset_is_complete_balanced_and_in_range(nowhere):
    data = load_fashion_mnist(n_train="all", n_test="all", source="auto")
    assert data.source.startswith("subset")
    assert data.x_train.shape == (10000, 1, 28, 28) and data.x_test.shape == (2000, 1, 28, 28)
    assert data.x_train.dtype == torch.float32 and data.y_train.dtype == torch.int64
    assert data.x_train.min() == 0 and data.x_train.max() == 1
    assert torch.bincount(data.y_train).tolist() == [1000] * 10
    assert torch.bincount(data.y_test).tolist() == [200] * 10


def test_shipped_subset_is_real_fashion_mnist():
    """Every shipped image is an image of the full set with the same label (where the full set exists)."""
    if not fm._has_files(fm.SYSTEM_DIR):
        pytest.skip(f"the full set is not installed in {fm.SYSTEM_DIR}")
    for split in ("train", "t10k"):
        sub = fm.read_idx(fm.SUBSET_DIR / f"{split}-images-idx3-ubyte.gz")
        sub_labels = fm.read_idx(fm.SUBSET_DIR / f"{split}-labels-idx1-ubyte.gz")
        full = fm.read_idx(fm.SYSTEM_DIR / f"{split}-images-idx3-ubyte.gz")
        full_labels = fm.read_idx(fm.SYSTEM_DIR / f"{split}-labels-idx1-ubyte.gz")
        index = {img.tobytes(): lab for img, lab in zip(full, full_labels)}
        assert all(index.get(img.tobytes()) == lab for img, lab in zip(sub, sub_labels))


def test_sizes_follow_fast_mode_and_seed(nowhere, monkeypatch):
    monkeypatch.setenv("COURSE_LIB_FAST", "1")
    small = load_fashion_mnist()
    assert len(small.x_train) == 2000 and len(small.x_test) == 500
    again = load_fashion_mnist()
    assert torch.equal(small.x_train, again.x_train)
    other = load_fashion_mnist(seed=1)
    assert not torch.equal(small.x_train, other.x_train)
    monkeypatch.setenv("COURSE_LIB_FAST", "0")
    assert len(load_fashion_mnist().x_train) == 10000


def test_full_set_is_found_through_the_environment_variable(tmp_path, monkeypatch):
    folder = small_full_set(tmp_path)
    monkeypatch.setenv("COURSE_LIB_FASHION_MNIST", str(folder))
    data = load_fashion_mnist(n_train="all", n_test="all")
    assert data.source.startswith("full") and data.x_train.shape == (30, 1, 28, 28)
    assert (data.x_train == 1).all()


def test_missing_data_gives_a_clear_message(nowhere, monkeypatch):
    with pytest.raises(DataNotFoundError, match=r"dataset-fashion-mnist.*--download.*source='subset'"):
        load_fashion_mnist(source="full")
    monkeypatch.setenv("COURSE_LIB_FASHION_MNIST", str(nowhere / "empty"))
    with pytest.raises(DataNotFoundError, match=r"lacks train-images-idx3-ubyte\.gz"):
        load_fashion_mnist()


def test_truncated_and_foreign_files_are_refused(tmp_path):
    path = tmp_path / "x.gz"
    write_idx(path, np.zeros((10, 28, 28)))
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(raw[:-100]))
    with pytest.raises(DataNotFoundError, match="truncated"):
        fm.read_idx(path)
    path.write_bytes(gzip.compress(b"hello world"))
    with pytest.raises(DataNotFoundError, match="not an IDX file"):
        fm.read_idx(path)


def test_download_checks_files_and_leaves_nothing_half_written(tmp_path, monkeypatch):
    server = tmp_path / "server"
    server.mkdir()
    for key, name in fm.FILES.items():
        n = fm.FULL_SIZES[key.split("_")[0]]
        write_idx(server / name, np.zeros((n, 28, 28)) if "images" in key else np.zeros(n))
    target = fm.download_fashion_mnist(tmp_path / "cache", base_url=server.as_uri() + "/")
    assert fm._has_files(target)
    # a server with a short file: the download fails and nothing is put in place
    write_idx(server / fm.FILES["test_labels"], np.zeros(5))
    with pytest.raises(DataNotFoundError, match="holds 5 items, expected 10000"):
        fm.download_fashion_mnist(tmp_path / "other", base_url=server.as_uri() + "/")
    assert sorted(p.name for p in (tmp_path / "other").iterdir()) == sorted(
        [fm.FILES["train_images"], fm.FILES["train_labels"], fm.FILES["test_images"]])


def test_bad_requests_are_explained(nowhere):
    with pytest.raises(CourseInputError, match="source must be one of"):
        load_fashion_mnist(source="internet")
    with pytest.raises(CourseInputError, match="only 10000"):
        load_fashion_mnist(n_train=20000)
    with pytest.raises(CourseInputError, match="name must be one of 'fashion_mnist', 'sprites'"):
        load_dataset("mnist")


# -- sprites ----------------------------------------------------------------------------------

def test_sprites_are_deterministic_and_labelled():
    a, b = make_sprites(200, seed=3), make_sprites(200, seed=3)
    assert torch.equal(a.images, b.images) and torch.equal(a.factors, b.factors)
    assert a.images.shape == (200, 1, 32, 32) and a.factors.shape == (200, 5)
    assert a.images.min() >= 0 and a.images.max() <= 1
    assert not torch.equal(a.images, make_sprites(200, seed=4).images)
    for col, values in enumerate(a.factor_values):
        assert a.factors[:, col].max() < len(values)


def test_sprite_factors_change_the_picture_as_named():
    base = torch.tensor([[1, 0, 0, 5, 5]])
    def render(**change):
        f = base.clone()
        for name, value in change.items():
            f[0, ("shape", "scale", "orientation", "x", "y").index(name)] = value
        return render_sprites(f)[0, 0]

    area = [render(scale=s).sum().item() for s in range(6)]
    assert all(a < b for a, b in zip(area, area[1:]))                 # bigger scale, more ink
    cols = torch.arange(32.0)
    centre_x = [(render(x=i).sum(0) * cols).sum().item() / render(x=i).sum().item() for i in range(12)]
    assert all(a < b for a, b in zip(centre_x, centre_x[1:]))       # x moves the shape right
    centre_y = [(render(y=i).sum(1) * cols).sum().item() / render(y=i).sum().item() for i in range(12)]
    assert all(a < b for a, b in zip(centre_y, centre_y[1:]))       # y moves it down
    shapes = [render(shape=s) for s in range(3)]
    assert not torch.equal(shapes[0], shapes[1]) and not torch.equal(shapes[1], shapes[2])
    assert not torch.equal(render(orientation=0), render(orientation=1))   # an ellipse turns


def test_bad_sprite_factors_are_explained():
    with pytest.raises(CourseInputError, match=r"shape \(N, 5\)"):
        render_sprites(torch.zeros(3, 4, dtype=torch.long))
    with pytest.raises(CourseInputError, match="must lie in"):
        render_sprites(torch.tensor([[3, 0, 0, 0, 0]]))


# -- 2-D toys ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(toy2d.SAMPLERS))
def test_toy_samplers_are_deterministic(name):
    a, b = toy2d.sample_toy(name, 500, seed=2), toy2d.sample_toy(name, 500, seed=2)
    assert a.shape == (500, 2) and a.dtype == torch.float32 and torch.isfinite(a).all()
    assert torch.equal(a, b)


def test_toy_samplers_have_their_shapes():
    r = toy2d.eight_gaussians(4000).norm(dim=1)
    assert ((r - 2).abs() < 0.5).all()
    x = toy2d.checkerboard(4000)
    assert ((torch.floor(x[:, 0]) + torch.floor(x[:, 1])) % 2 == 0).all()
    assert (x.abs() <= 2).all()
    radii = toy2d.rings(4000, noise=0.0).norm(dim=1)
    torch.testing.assert_close(radii * 2, torch.round(radii * 2))


def naive_energies(z1, z2):
    """The four energies straight from Rezende & Mohamed (2015), in float64 NumPy."""
    w1 = np.sin(2 * np.pi * z1 / 4)
    w2 = 3 * np.exp(-0.5 * ((z1 - 1) / 0.6) ** 2)
    w3 = 3 / (1 + np.exp(-(z1 - 1) / 0.3))
    u1 = 0.5 * ((np.hypot(z1, z2) - 2) / 0.4) ** 2 - np.log(
        np.exp(-0.5 * ((z1 - 2) / 0.6) ** 2) + np.exp(-0.5 * ((z1 + 2) / 0.6) ** 2))
    u2 = 0.5 * ((z2 - w1) / 0.4) ** 2
    u3 = -np.log(np.exp(-0.5 * ((z2 - w1) / 0.35) ** 2) + np.exp(-0.5 * ((z2 - w1 + w2) / 0.35) ** 2))
    u4 = -np.log(np.exp(-0.5 * ((z2 - w1) / 0.4) ** 2) + np.exp(-0.5 * ((z2 - w1 + w3) / 0.35) ** 2))
    return {"u1": u1, "u2": u2, "u3": u3, "u4": u4}


def test_energies_match_the_paper_formulas():
    g = np.linspace(-3, 3, 41)
    z1, z2 = np.meshgrid(g, g)
    z = torch.tensor(np.stack([z1, z2], -1), dtype=torch.float64)
    expected = naive_energies(z1, z2)
    for name in ("u1", "u2", "u3", "u4"):
        got = -toy2d.unnormalized_log_density(name, z).numpy()
        np.testing.assert_allclose(got, expected[name], rtol=1e-9, atol=1e-9)
    # U1 at the origin by hand: 12.5 - log 2 + 0.5 (2 / 0.6)^2
    assert math.isclose(toy2d.energy_u1(torch.zeros(2, dtype=torch.float64)).item(),
                        12.5 - math.log(2) + 0.5 * (2 / 0.6) ** 2, rel_tol=1e-12)


def test_energies_stay_finite_far_out():
    far = torch.tensor([[40.0, -40.0], [-60.0, 60.0]])
    for name in ("u1", "u2", "u3", "u4"):
        assert torch.isfinite(toy2d.unnormalized_log_density(name, far)).all()
    with pytest.raises(CourseInputError, match=r"shape \(\.\.\., 2\)"):
        toy2d.energy_u1(torch.zeros(3))


@pytest.mark.parametrize("damage", [lambda b: b[: len(b) // 2], lambda b: b"not gzip at all", lambda b: b""],
                         ids=["truncated", "not-gzip", "empty"])
def test_a_damaged_file_is_named_and_the_next_source_is_used(tmp_path, monkeypatch, nowhere, damage):
    folder = small_full_set(tmp_path)
    broken = folder / "t10k-images-idx3-ubyte.gz"
    broken.write_bytes(damage(broken.read_bytes()))
    monkeypatch.setenv("COURSE_LIB_FASHION_MNIST", str(folder))
    with pytest.warns(UserWarning, match=r"t10k-images-idx3-ubyte\.gz .*Using the subset shipped with the course"):
        data = load_fashion_mnist(n_train=100, n_test=10)
    assert data.source.startswith("subset")
    with pytest.raises(DataNotFoundError, match=r"t10k-images-idx3-ubyte\.gz.*No other copy"):
        load_fashion_mnist(source="full")


def test_the_dsprites_grid_has_every_combination_of_matthey_et_al():
    """3 shapes x 6 scales x 40 orientations x 32 x 32 positions = 737,280 images of 64 x 64 pixels."""
    from course_lib.data import DSpritesGrid, dsprites_factor_values
    grid = DSpritesGrid()
    assert len(grid) == 737_280 == 3 * 6 * 40 * 32 * 32
    values = dsprites_factor_values()
    assert [len(v) for v in values] == [3, 6, 40, 32, 32]
    assert float(values[1][0]) == 0.5 and float(values[1][-1]) == 1.0
    assert float(values[2][0]) == 0.0 and float(values[2][-1]) == pytest.approx(2 * math.pi)
    index = torch.randint(len(grid), (500,), generator=torch.Generator().manual_seed(0))
    assert torch.equal(grid.index(grid.factors(index)), index)                 # the order of dSprites' file:
    assert grid.factors(torch.tensor([1, 32, 32 * 32]))[:, 2:].tolist() == [[0, 0, 1], [0, 1, 0], [1, 0, 0]]
    images = grid.images(index[:8])
    assert images.shape == (8, 1, 64, 64) and float(images.min()) >= 0 and float(images.max()) <= 1
    assert torch.equal(images, grid.images(index[:8]))                          # deterministic
    turned = grid.index(torch.tensor([[2, 3, 0, 10, 20], [2, 3, 39, 10, 20]]))  # 0 and 2 pi: one rotation
    pair = grid.images(turned)
    assert torch.allclose(pair[0], pair[1], atol=1e-6)


def test_a_dsprites_subset_is_a_stated_random_sample_of_distinct_grid_points():
    from course_lib.data import DSpritesGrid
    grid = DSpritesGrid()
    a, b = grid.sample(64, seed=3), grid.sample(64, seed=3)
    assert torch.equal(a.images, b.images) and torch.equal(a.factors, b.factors)
    assert len({tuple(f) for f in a.factors.tolist()}) == 64
    with pytest.raises(CourseInputError, match="index"):
        grid.factors(torch.tensor([len(grid)]))
    with pytest.raises(CourseInputError, match="at most"):
        grid.sample(len(grid) + 1)


def test_the_dsprites_grid_at_32_pixels_draws_the_same_scenes_at_half_the_side():
    """The CPU reference models train on the grid rendered at 32 x 32: the same factors, the same sprite
    (its area in pixels a quarter of the 64 x 64 one's), and a bad side is refused with a message."""
    from course_lib.data import DSpritesGrid
    big, small = DSpritesGrid(), DSpritesGrid(32)
    index = torch.randint(len(big), (16,), generator=torch.Generator().manual_seed(1))
    a, b = big.images(index), small.images(index)
    assert b.shape == (16, 1, 32, 32) and torch.equal(big.factors(index), small.factors(index))
    assert torch.allclose(b.sum(dim=(1, 2, 3)), a.sum(dim=(1, 2, 3)) / 4, rtol=0.1)
    pooled = torch.nn.functional.avg_pool2d(a, 2)
    assert float((pooled - b).abs().mean()) < 0.02
    with pytest.raises(CourseInputError, match="image_size"):
        DSpritesGrid(4)


def test_the_files_are_read_once_but_every_load_gets_tensors_of_its_own(tmp_path, monkeypatch, nowhere):
    """Loading again reuses the decoded files (a lesson loads them in several cells), yet a learner who changes
    the tensors of one load changes no other, and a file that changes on disk is read again."""
    folder = small_full_set(tmp_path)
    monkeypatch.setenv("COURSE_LIB_FASHION_MNIST", str(folder))
    reads = []
    monkeypatch.setattr(fm, "read_idx", lambda path, read=fm.read_idx: reads.append(path) or read(path))
    first = load_fashion_mnist(n_train="all", n_test="all")
    first.x_train.zero_()
    second = load_fashion_mnist(n_train="all", n_test="all")
    assert len(reads) == 4 and torch.all(second.x_train == 1.0)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.arange(20) % 3)      # a new file: read anew
    assert load_fashion_mnist(n_train="all", n_test="all").y_test.max() == 2 and len(reads) == 8
