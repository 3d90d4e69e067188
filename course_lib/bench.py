"""Benchmark: ``fit`` against a plain DataLoader loop, same model and batch size.

    python -m course_lib.bench            # CPU, and CUDA too when present
    python -m course_lib.bench --steps 300 --devices cpu

Both loops train the same MLP VAE (784-512-256-16, Bernoulli decoder) on
Fashion-MNIST with batch size 128 and Adam.  The plain loop is the usual
PyTorch pattern: a ``DataLoader`` over CPU tensors and ``.to(device)`` per
batch.  ``fit`` keeps the data on the device and draws batches by index.
We report images per second after a short warm-up; the last line is the
ratio ``fit/plain`` on the last device measured.
"""
import argparse
import time

import torch
from torch.utils.data import DataLoader, TensorDataset

from .data import load_fashion_mnist
from .train import fit
from .vae import VAE


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def plain_loop(model, x, steps, batch_size, device):
    """The textbook loop: DataLoader on the host, one host -> device copy per batch."""
    model.to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = DataLoader(TensorDataset(x), batch_size=batch_size, shuffle=True, drop_last=True)
    done = 0
    while done < steps:
        for (batch,) in loader:
            batch = batch.to(device)
            loss = model.loss_terms(batch)["loss"]
            opt.zero_grad()
            loss.backward()
            opt.step()
            done += 1
            if done == steps:
                break


def images_per_second(run, steps, batch_size, device, warmup=20):
    run(warmup)
    _sync(device)
    start = time.perf_counter()
    run(steps)
    _sync(device)
    return steps * batch_size / (time.perf_counter() - start)


def bench_device(device, steps, batch_size=128, n_train=10000):
    torch.manual_seed(0)
    x = load_fashion_mnist(n_train=n_train, n_test=100).x_train
    fit_model, plain_model = VAE.mlp(), VAE.mlp()
    fit_model.load_state_dict(plain_model.state_dict())
    fit_ips = images_per_second(
        lambda s: fit(fit_model, x, steps=s, batch_size=batch_size, device=device, progress=False),
        steps, batch_size, device)
    plain_ips = images_per_second(lambda s: plain_loop(plain_model, x, s, batch_size, device),
                                  steps, batch_size, device)
    return fit_ips, plain_ips


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500, help="timed optimizer steps per loop")
    parser.add_argument("--devices", nargs="*", default=None, help="default: cpu, and cuda if present")
    args = parser.parse_args(argv)
    devices = args.devices or (["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"])
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, batch 128, {args.steps} steps")
    ratio = None
    for name in devices:
        device = torch.device(name)
        label = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
        fit_ips, plain_ips = bench_device(device, args.steps)
        ratio = fit_ips / plain_ips
        print(f"{label}: fit {fit_ips:,.0f} img/s, plain DataLoader loop {plain_ips:,.0f} img/s, ratio {ratio:.2f}")
    print(f"ratio fit/plain: {ratio:.2f}")


if __name__ == "__main__":
    main()
