"""Lesson 8b's reference models on Fashion-MNIST: the course's feature classifier, and a convolutional
VAE against the same VAE trained as a VAE-GAN.

* ``fashion-classifier``: :class:`course_lib.models.classifier.FashionClassifier` trained by
  cross-entropy on the training images the course ships (10,000), measured by its accuracy on the
  2,000 shipped test images.  Its 128 features are the course's yardstick for generated images.
* ``fashion-vae-gan`` (Larsen et al., 2016): the same convolutional VAE trained as a VAE and as a
  VAE-GAN (Larsen et al.'s loss: the features of a convolutional discriminator instead of pixels,
  and their balance of the two players, :class:`course_lib.models.hybrids.VAEGAN`).  Measured on
  2,000 prior samples against the 2,000 test images: sharpness over the data's (the variance of the
  Laplacian, and the mean |difference| of neighbouring pixels), and the Fréchet distance on the
  classifier's features (the course's proxy, not FID).  Only the generator (the VAE) is shipped;
  the discriminator is not needed to draw samples.
"""
import time

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ..data.fashion_mnist import load_shipped_subset
from ..lessons.hybrids import sharpness
from ..metrics import laplacian_variance
from ..metrics.frechet import frechet_feature_distance
from ..models.classifier import FashionClassifier, accuracy, features_of
from ..models.hybrids import VAEGAN
from ..models.vae import VAE, vae_objective
from ..training.adversarial import train_adversarial
from ..training.train import fit
from .loading import load_recipe
from .recipe import Recipe

# -- the classifier ------------------------------------------------------------------------------
CLASSIFIER_TRAINING = {"data": "shipped Fashion-MNIST subset (10,000 train / 2,000 test)", "steps": 3000,
                       "batch_size": 128, "lr": 1e-3, "optimizer": "Adam", "seed": 0, "flip": True}


def train_classifier(recipe, device, progress):
    """A plain loop: random minibatches, cross-entropy, Adam; half the images flipped left-right."""
    t = recipe.training
    data = load_shipped_subset()
    x, y = data.x_train.to(device), data.y_train.to(device)
    torch.manual_seed(t["seed"])
    model = FashionClassifier().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=t["lr"])
    start = time.perf_counter()
    for _ in tqdm(range(t["steps"]), desc="Fashion-MNIST classifier", disable=not progress):
        index = torch.randint(len(x), (t["batch_size"],), device=device)
        batch = x[index]
        if t["flip"]:
            flip = torch.rand(len(batch), device=device) < 0.5
            batch = torch.where(flip[:, None, None, None], batch.flip(-1), batch)
        loss = F.cross_entropy(model(batch), y[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return {"classifier": (model.eval(), time.perf_counter() - start)}


def measure_classifier(model, member, training=None):
    data = load_shipped_subset()
    return {"test accuracy": accuracy(model, data.x_test, data.y_test)}


CLASSIFIER = Recipe(
    name="fashion-classifier", lesson="8b", what="small conv classifier whose features measure generated images",
    source="the course's own proxy (a Fréchet distance on its features, in the spirit of FID, Heusel et al. 2017)",
    members={"classifier": {"architecture": "FashionClassifier", "features": 128}},
    training=CLASSIFIER_TRAINING, tolerance={"test accuracy": 0.002},
    build=lambda member: FashionClassifier(member["features"]), train=train_classifier,
    measure=measure_classifier, measures_others=True)


# -- VAE against VAE-GAN -------------------------------------------------------------------------
NETWORK = {"latent_dim": 32, "channels": [32, 64], "hidden": [128]}
GAN_TRAINING = {"data": "shipped Fashion-MNIST subset (10,000 train / 2,000 test)", "steps": 10000,
                "batch_size": 64, "lr": 3e-4, "discriminator lr": 1e-4, "optimizer": "Adam, beta_1 = 0.5",
                "seed": 0, "vae-gan": "Larsen et al.'s loss: no pixel term, lam = 1 on the adversarial term",
                "discriminator": {"kind": "conv", "channels": [32, 64]},
                "balance": {"equilibrium": 0.68, "margin": 0.35}, "samples": 2000}


def build_image_vae(member=None):
    return VAE.conv((1, 28, 28), NETWORK["latent_dim"], channels=NETWORK["channels"], hidden=NETWORK["hidden"])


def build_vae_gan(training):
    d = training["discriminator"]
    return VAEGAN(build_image_vae(), discriminator=d["kind"], channels=d["channels"],
                  balance=(training["balance"]["equilibrium"], training["balance"]["margin"]))


def train_vae_and_vae_gan(recipe, device, progress):
    """The same convolutional VAE trained as a VAE (the ELBO, Adam) and as a VAE-GAN (Larsen et al.'s
    three losses, a convolutional discriminator, their balance of the two players, and a smaller
    learning rate for the discriminator).  -> {model name: (the VAE, seconds)}"""
    t = recipe.training
    x = load_shipped_subset().x_train
    out = {}
    for m, member in recipe.members.items():
        torch.manual_seed(t["seed"])
        start = time.perf_counter()
        if member["model"] == "VAE":
            vae = build_image_vae()
            fit(vae, x, vae_objective(), steps=t["steps"], batch_size=t["batch_size"], lr=t["lr"], seed=t["seed"],
                device=device, progress=progress, desc="reference VAE")
        else:
            model = build_vae_gan(t)
            train_adversarial(model, x, t["steps"], batch_size=t["batch_size"], lr=t["lr"],
                              discriminator_lr=t["discriminator lr"], betas=(0.5, 0.999), seed=t["seed"],
                              device=device, progress=progress, desc="reference VAE-GAN")
            vae = model.vae
        out[m] = (vae, time.perf_counter() - start)
    return out


def measure_generator(vae, member, training):
    """On ``training["samples"]`` prior samples against as many test images: two sharpness ratios over the
    data's (the variance of the Laplacian, and the mean difference of neighbouring pixels; 1 is as sharp
    as the data), and the Fréchet distance on the features of the shipped classifier; and the squared
    error of the test images' reconstructions (per image)."""
    classifier = load_recipe(CLASSIFIER)["classifier"]
    x_test = load_shipped_subset().x_test[:training["samples"]]
    torch.manual_seed(0)
    with torch.no_grad():
        samples = vae.sample(len(x_test)).clamp(0, 1)
        reconstructions = vae.reconstruct(x_test).clamp(0, 1)
    return {"Laplacian variance / data's": laplacian_variance(samples) / laplacian_variance(x_test),
            "sharpness / data's": sharpness(samples) / sharpness(x_test),
            "feature distance": frechet_feature_distance(features_of(classifier, samples),
                                                         features_of(classifier, x_test)),
            "reconstruction error": float((reconstructions - x_test).pow(2).flatten(1).sum(1).mean())}


VAE_GAN = Recipe(
    name="fashion-vae-gan", lesson="8b", what="conv VAE and the same VAE trained as a VAE-GAN on Fashion-MNIST",
    source="Larsen et al. (2016), Autoencoding beyond pixels using a learned similarity metric (loss, a "
           "convolutional discriminator whose features are the similarity, and the balance of the two players)",
    members={"vae": {"model": "VAE", **NETWORK}, "vae-gan": {"model": "VAE-GAN", **NETWORK}},
    training=GAN_TRAINING, tolerance={"Laplacian variance / data's": 0.01, "sharpness / data's": 0.01,
                                      "feature distance": 0.05, "reconstruction error": 0.5},
    build=build_image_vae, train=train_vae_and_vae_gan, measure=measure_generator, quick={"samples": 500},
    as_lesson=lambda models: {"VAE": (models["vae"], None), "VAE-GAN": (models["vae-gan"], None)})

RECIPES = (CLASSIFIER, VAE_GAN)
