"""Bad input, catalogued: every row is one mistake a learner can make with the public API.

Each must raise a course error (never a deep traceback from PyTorch or NumPy)
whose message names the argument and says what is allowed, and none may leave
a file behind.  New modules and lessons add their rows here.
"""
import pytest
import torch

import course_lib as cl
from course_lib import class_models, estimators, flows, metrics, schedules
from course_lib.estimators.ais import ais
from course_lib.estimators.divergences import (
    alpha_divergence_grid,
    renyi_gaussians,
    text_alpha_divergence_grid,
    vr_bound,
)
from course_lib.figures.widgets import LiveFigure, choice_slider, float_slider, new_figure
from course_lib.lessons import beta_vae as beta_vae_lesson
from course_lib.lessons import divergences as divergences_lesson
from course_lib.lessons import elbo as elbo_lesson
from course_lib.lessons import flow_vae as flow_vae_lesson
from course_lib.lessons import flows as flows_lesson
from course_lib.lessons import hierarchical as hierarchical_lesson
from course_lib.lessons import hybrids as hybrids_lesson
from course_lib.lessons import rate_distortion as rd_lesson
from course_lib.lessons import reparam as reparam_lesson
from course_lib.lessons import wae as wae_lesson
from course_lib.models import rate_distortion
from course_lib.models.control import PIController
from course_lib.models.flow_vae import FlowVAE
from course_lib.models.gans import InfoGAN
from course_lib.models.hierarchical import HierarchicalVAE, hierarchical_objective, precision_weighted_merge
from course_lib.models.hybrids import UnifiedVAE
from course_lib.models.tcvae import tcvae_objective
from course_lib.models.wae import WAE, WAEGAN, latent_discriminator, mmd2, wae_objective
from course_lib.training.adversarial import train_adversarial, train_wae_gan

ALLOWED = ("must", "allowed", "one of", "expected", "needs", "only", "give ")

IMAGES = torch.rand(4, 1, 28, 28)
VAE = cl.VAE.mlp(latent_dim=2, hidden=(8,))
LG = cl.LinearGaussianModel.random(d=2, k=1)
X2 = torch.randn(5, 2)


def _loss_returning_a_float(model, batch, step):
    return {"loss": 1.0}


# (what is wrong, the call, a word the message must contain: the argument's name)
def _lessons(name):
    """A lesson's module, imported when its case runs."""
    import importlib
    return importlib.import_module(f"course_lib.lessons.{name}")


CATALOG = [
    # models
    ("latent size 0", lambda: cl.VAE.mlp(latent_dim=0), "latent_dim"),
    ("latent size not a whole number", lambda: cl.VAE.mlp(latent_dim=2.5), "latent_dim"),
    ("unknown likelihood", lambda: cl.VAE.mlp(likelihood="poisson"), "likelihood"),
    ("conv net on 30x30 images", lambda: cl.VAE.conv(image_shape=(1, 30, 30)), "image_shape"),
    ("image shape without channels", lambda: cl.VAE.conv(image_shape=(28, 28)), "image_shape"),
    ("hidden sizes not numbers", lambda: cl.VAE.mlp(hidden=("a",)), "hidden"),
    ("negative hidden size", lambda: cl.MLP(4, (-3,), 2), "hidden"),
    ("residual block of width 0", lambda: cl.ResidualBlock(0), "dim"),
    ("images of the wrong shape", lambda: VAE.loss_terms(torch.rand(4, 784)), "x"),
    ("images as a list", lambda: VAE.loss_terms([[0.0]]), "x"),
    ("beta < 0", lambda: VAE.loss_terms(IMAGES, beta=-1.0), "beta"),
    ("beta NaN", lambda: VAE.loss_terms(IMAGES, beta=float("nan")), "beta"),
    ("capacity < 0", lambda: VAE.loss_terms(IMAGES, capacity=-2.0), "capacity"),
    ("k = 0 samples", lambda: VAE.iwae_bound(IMAGES, k=0), "k"),
    ("nll batch size 0", lambda: VAE.nll(IMAGES, batch_size=0), "batch_size"),
    ("sample 0 images", lambda: VAE.sample(0), "n"),
    ("objective with beta < 0", lambda: cl.vae_objective(beta=-0.5), "beta"),
    ("objective with a capacity string", lambda: cl.vae_objective(capacity="big"), "capacity"),
    # distributions and objectives
    ("mean and log_var of different shapes", lambda: cl.DiagonalGaussian(torch.zeros(3, 2), torch.zeros(3, 4)),
     "log_var"),
    ("KL of a list", lambda: cl.kl_standard_normal([0.0], [0.0]), "mean"),
    ("KL between different shapes", lambda: cl.kl_diagonal_gaussians(torch.zeros(2, 3), torch.zeros(2, 3),
                                                                      torch.zeros(2, 4), torch.zeros(2, 4)),
     "mean_p"),
    ("Bernoulli of a list", lambda: cl.Bernoulli([0.1]), "logits"),
    ("IWAE of a 0-d tensor", lambda: cl.importance_weighted_bound(torch.tensor(1.0)), "log_weights"),
    ("bits per dim over 0 dims", lambda: cl.bits_per_dim(torch.tensor(1.0), 0), "num_dims"),
    # the linear-Gaussian sandbox
    ("sandbox with d = 0", lambda: cl.LinearGaussianModel.random(d=0), "d"),
    ("sandbox with noise variance < 0", lambda: cl.LinearGaussianModel.random(sigma2=-1.0), "sigma2"),
    ("sandbox data of the wrong width", lambda: LG.log_marginal(torch.randn(5, 3)), "x"),
    ("sandbox IWAE with k = 0", lambda: LG.iwae_bound(X2, torch.zeros(5, 1), torch.zeros(5, 1), 0), "k"),
    ("ML fit with k >= d", lambda: cl.LinearGaussianModel.fit_ml(X2, k=2), "k"),
    # training
    ("0 steps", lambda: cl.fit(VAE, IMAGES, steps=0, progress=False), "steps"),
    ("both steps and epochs", lambda: cl.fit(VAE, IMAGES, steps=1, epochs=1, progress=False), "steps"),
    ("negative learning rate", lambda: cl.fit(VAE, IMAGES, steps=1, lr=-1e-3, progress=False), "lr"),
    ("batch size 0", lambda: cl.fit(VAE, IMAGES, steps=1, batch_size=0, progress=False), "batch_size"),
    ("data as a list", lambda: cl.fit(VAE, [[1.0]], steps=1, progress=False), "x_train"),
    ("log every 0 steps", lambda: cl.fit(VAE, IMAGES, steps=1, log_every=0, progress=False), "log_every"),
    ("a loss that is a float", lambda: cl.fit(VAE, IMAGES, _loss_returning_a_float, steps=1, progress=False),
     "loss"),
    ("a checkpoint that is not there", lambda: cl.load_checkpoint("no-such-checkpoint.pt", VAE), "path"),
    ("a bend that folds the line (lesson 7)", lambda: _lessons("flows").change_of_variables_check(a=-1.0), "a"),
    ("no samples per estimate (lesson 1)", lambda: _lessons("elbo").prior_against_encoder(VAE, IMAGES, ks=(0,)), "k"),
    ("one repeat, no spread (lesson 1)", lambda: _lessons("elbo").prior_against_encoder(VAE, IMAGES, repeats=1),
     "repeats"),
    ("cache name with a path in it", lambda: cl.cached_fit("../escape", {}, lambda: VAE, lambda m: None), "name"),
    ("config that is not JSON", lambda: cl.cached_fit("demo", {"f": object()}, lambda: VAE, lambda m: None),
     "config"),
    ("warm-up over 0 steps", lambda: schedules.linear_warmup(0), "steps"),
    ("cyclical ratio > 1", lambda: schedules.cyclical(100, ratio=2.0), "ratio"),
    ("unknown device", lambda: cl.get_device("tpu"), "prefer"),
    ("seed that is a string", lambda: cl.seed_everything("abc"), "seed"),
    ("cuda_graph not a choice", lambda: cl.fit(VAE, IMAGES, steps=1, cuda_graph="yes", progress=False), "cuda_graph"),
    ("sweep loss that is a float", lambda: cl.fit_sweep(lambda: VAE, IMAGES, lambda m, x, v, s: 1.0, [1.0], steps=1,
                                                         progress=False), "loss_fn"),
    ("sweep loss that turns the value into a float",
     lambda: cl.fit_sweep(lambda: cl.VAE.mlp(latent_dim=2, hidden=(8,)), IMAGES,
                          lambda m, x, v, s: m.loss_terms(x, beta=float(v)), [1.0, 2.0], steps=1, progress=False),
     "value"),
    ("sprite sweep over an unknown hyper-parameter",
     lambda: beta_vae_lesson.train_sweep(cl.make_sprites(10), "gamma", [1.0], 5), "over"),
    ("ControlVAE on Fashion-MNIST", lambda: beta_vae_lesson.train_control_vae(IMAGES, 5.0, 10), "sprites"),
    ("sprite VAE cases with capacity < 0", lambda: beta_vae_lesson.train_cases(cl.make_sprites(10), [(1.0, -1.0)], 5),
     "capacity"),
    ("sweep over no values", lambda: cl.fit_sweep(lambda: VAE, IMAGES, cl.vae_sweep_objective(), [], steps=1), "values"),
    ("sweep over words", lambda: cl.fit_sweep(lambda: VAE, IMAGES, cl.vae_sweep_objective(), ["low", "high"],
                                              steps=1), "values"),
    ("sweep of 0 steps", lambda: cl.fit_sweep(lambda: VAE, IMAGES, cl.vae_sweep_objective(), [1.0], steps=0),
     "steps"),
    ("sweep over an unknown hyper-parameter", lambda: cl.vae_sweep_objective(over="gamma"), "over"),
    ("capacity ramp of 0 steps", lambda: cl.vae_sweep_objective(over="capacity", ramp_steps=0), "ramp_steps"),
    ("class archive that does not exist", lambda: class_models.install("no-such-file.tar.gz"), "archive"),
    ("class archive that is not a tar file", lambda: class_models.install(__file__), "archive"),
    ("class archive that is not a path", lambda: class_models.install(None), "archive"),
    ("lesson to run that is not a notebook", lambda: class_models.run_lesson(__file__), "path"),
    ("lesson to prepare that does not exist", lambda: class_models.prepare(["no-such-lesson.ipynb"]), "notebooks"),
    ("cached sweep without values", lambda: cl.cached_sweep("demo", {}, "beta", [], lambda: VAE, None), "values"),
    # rate-distortion, metrics, control
    ("negative source variances", lambda: rate_distortion.gaussian_rate_distortion([1.0, -2.0], 0.5), "variances"),
    ("distortion 0", lambda: rate_distortion.gaussian_rate_distortion([1.0, 2.0], 0.0), "distortion"),
    ("linear autoencoder with 0 latents", lambda: rate_distortion.LinearGaussianAutoencoder(3, 0), "k"),
    ("source covariance of the wrong size",
     lambda: rate_distortion.LinearGaussianAutoencoder(3, 1).rate(torch.eye(2)), "cov"),
    ("linear VAE with beta 0", lambda: rate_distortion.fit_linear_autoencoder(torch.eye(2), 1, 0.0), "beta"),
    ("MIG of a 1-d matrix", lambda: metrics.mig([0.1, 0.2], [1.0, 1.0]), "mi"),
    ("MI with codes for other images", lambda: metrics.mutual_information_matrix(torch.zeros(5, 2),
                                                                                   torch.zeros(6, 3, dtype=torch.long)),
     "codes"),
    ("factors as floats", lambda: metrics.factor_entropies(torch.rand(5, 2)), "factors"),
    ("probe labels that do not match", lambda: metrics.linear_probe_accuracy(torch.rand(5, 2), torch.zeros(4).long(),
                                                                            torch.rand(3, 2), torch.zeros(3).long()),
     "train_labels"),
    ("neighbour vote with more neighbours than codes",
     lambda: metrics.neighbour_vote_accuracy(torch.rand(5, 2), torch.zeros(5).long(), torch.rand(3, 2),
                                             torch.zeros(3).long(), k=6), "k"),
    ("neighbour vote with labels that do not match", lambda: metrics.neighbour_vote_accuracy(
        torch.rand(5, 2), torch.zeros(5).long(), torch.rand(3, 2), torch.zeros(2).long()), "test_labels"),
    ("a plane drawn from a 3-latent VAE", lambda: elbo_lesson.latent_plane(
        cl.VAE.mlp(latent_dim=3, hidden=(8,)), IMAGES, torch.zeros(len(IMAGES)).long()), "vae"),
    ("a prior grid of one code per axis", lambda: elbo_lesson.prior_quantile_grid(1), "n"),
    ("a χ² by quadrature for a model with two latents",
     lambda: elbo_lesson.chi_square_to_posterior(cl.LinearGaussianModel.random(d=3, k=2, seed=0), torch.zeros(1, 3),
                                                 torch.zeros(1, 2), torch.zeros(1, 2)), "k = 2"),
    ("a plane with labels for other images", lambda: elbo_lesson.latent_plane(
        cl.VAE.mlp(latent_dim=2, hidden=(8,)), IMAGES, torch.zeros(3).long()), "labels"),
    ("a plane with a negative label", lambda: elbo_lesson.latent_plane(
        cl.VAE.mlp(latent_dim=2, hidden=(8,)), IMAGES, torch.full((len(IMAGES),), -1)), "labels"),
    ("neighbour vote on codes of different widths", lambda: metrics.neighbour_vote_accuracy(
        torch.rand(5, 2), torch.zeros(5).long(), torch.rand(3, 3), torch.zeros(3).long(), k=2), "test_codes"),
    ("an InfoGAN's continuous bound with u of the wrong shape",
     lambda: InfoGAN(n_codes=4, n_continuous=1).continuous_bound(torch.zeros(3, 2), torch.zeros(3)), "u"),
    ("plane codes of an 8-latent WAE", lambda: wae_lesson.plane_codes(wae_lesson.build_2d("VAE"), WAE(latent_dim=8),
                                                                     IMAGES), "wae"),
    ("a two-latent model of no such kind", lambda: wae_lesson.build_2d("WAE-GAN"), "name"),
    ("a VAE's plane numbers with a zero standard deviation", lambda: wae_lesson.vae_plane_numbers(
        torch.zeros(4, 2), torch.zeros(4, 2), torch.zeros(4).long()), "std"),
    ("a WAE's plane numbers from codes of three latents", lambda: wae_lesson.wae_plane_numbers(
        torch.zeros(4, 3), torch.zeros(4).long()), "code"),
    ("the binning bias of no samples", lambda: metrics.binning_bias(5, 0), "n"),
    ("neighbour vote with a negative label", lambda: metrics.neighbour_vote_accuracy(
        torch.rand(5, 2), torch.tensor([0, 1, -1, 0, 1]), torch.rand(3, 2), torch.zeros(3).long(), k=2), "class index"),
    ("mode misses counted round two modes", lambda: hybrids_lesson.neighbouring_miss_share(None, torch.zeros(4, 2),
                                                                                          n_modes=2), "n_modes"),
    ("mode misses of points in three dimensions", lambda: hybrids_lesson.neighbouring_miss_share(None, torch.zeros(4, 3)),
     "x"),
    ("active units with a negative threshold", lambda: metrics.active_units(VAE, IMAGES, threshold=-1.0), "threshold"),
    ("controller with beta_max below beta_min", lambda: PIController(5.0, beta_min=2.0, beta_max=1.0), "beta_max"),
    ("controller with a negative set point", lambda: PIController(-1.0), "set_point"),
    ("controller fed a NaN KL", lambda: PIController(5.0).update(float("nan")), "kl"),
    ("beta sweep on sprites", lambda: rd_lesson.train_beta_sweep(cl.make_sprites(10), 5), "data"),
    ("beta explorer with too few models", lambda: rd_lesson.beta_explorer([VAE], {"rate": [1.0, 2.0]}, (1.0, 2.0),
                                                                          IMAGES), "models"),
    ("sprite sweep on Fashion-MNIST", lambda: beta_vae_lesson.train_sweep(IMAGES, "beta", [1.0], 5), "sprites"),
    ("capacity sweep with gamma 0", lambda: beta_vae_lesson.train_sweep(cl.make_sprites(10), "capacity", [1.0], 5,
                                                                        gamma=0.0), "gamma"),
    ("hierarchical VAE with no levels", lambda: HierarchicalVAE(latent_dims=()), "latent_dims"),
    ("hierarchical VAE with a level of size 0", lambda: HierarchicalVAE(latent_dims=(8, 0)), "latent_dims[1]"),
    ("unknown hierarchical inference", lambda: HierarchicalVAE(inference="top_down"), "inference"),
    ("hierarchical VAE fed sprites", lambda: HierarchicalVAE(latent_dims=(2, 1), hidden=4).loss_terms(
        torch.rand(2, 1, 32, 32)), "x"),
    ("negative free bits", lambda: HierarchicalVAE(latent_dims=(2, 1), hidden=4).loss_terms(IMAGES, free_bits=-1.0),
     "free_bits"),
    ("negative free bits in the objective", lambda: hierarchical_objective(free_bits=-0.5), "free_bits"),
    ("merge of plain numbers", lambda: precision_weighted_merge(1.0, 0.0, 2.0, 0.0), "mean_1"),
    ("residual stack of depth 0", lambda: hierarchical_lesson.gradient_norms(0), "depth"),
    ("two-level sandbox with no noise on z_1", lambda: hierarchical_lesson.TwoLevelSandbox(s1=0.0), "s1"),
    ("two-level sandbox with a string scale", lambda: hierarchical_lesson.TwoLevelSandbox(a="1.5"), "a"),
    ("hierarchical IWAE with k = 0", lambda: HierarchicalVAE(latent_dims=(2, 1), hidden=4).iwae_bound(IMAGES, k=0),
     "k"),
    ("unbiased MMD from one sample", lambda: mmd2(torch.zeros(1, 2), torch.zeros(5, 2)), "at least 2"),
    ("MMD with an unknown kernel", lambda: mmd2(X2, X2, kernel="laplace"), "kernel"),
    ("MMD between different dimensions", lambda: mmd2(X2, torch.zeros(5, 3)), "y"),
    ("MMD with a scale of 0", lambda: mmd2(X2, X2, scale=0.0), "scale"),
    ("WAE with 0 latents", lambda: WAE(latent_dim=0), "latent_dim"),
    ("WAE with a negative lambda", lambda: WAE(latent_dim=2, hidden=(8,)).loss_terms(IMAGES, lam=-1.0), "lam"),
    ("WAE objective with a negative lambda", lambda: wae_objective(-2.0), "lam"),
    ("WAE objective with an unknown kernel", lambda: wae_objective(1.0, kernel="cosine"), "kernel"),
    ("WAE-GAN for 0 steps", lambda: train_wae_gan(WAE(latent_dim=2, hidden=(8,)), latent_discriminator(2), IMAGES,
                                                  steps=0), "steps"),
    ("MMD draws with samples of 1", lambda: wae_lesson.estimator_draws(sizes=(1,), repeats=2), "n"),
    ("MMD draws from a Gaussian of negative variance",
     lambda: wae_lesson.estimator_values(4, 2, torch.zeros(2), -1.0, torch.zeros(2), 1.0), "var_p"),
    ("MMD draws from Gaussians of different dimensions",
     lambda: wae_lesson.estimator_values(4, 2, torch.zeros(2), 1.0, torch.zeros(3), 1.0), "mean_q"),
    ("WAE-GAN with a discriminator that is not a module",
     lambda: WAEGAN(WAE(latent_dim=2, hidden=(8,)), "critic"), "discriminator"),
    ("flow of depth 0", lambda: flows_lesson.build_energy_flow("planar", 0), "depth"),
    ("flow of an unknown kind", lambda: flows_lesson.build_energy_flow("sylvester", 2), "kind"),
    ("planar step in 0 dimensions", lambda: flows.Planar(0), "dim"),
    ("MADE without hidden layers", lambda: flows.MADE(3, hidden=()), "hidden"),
    ("coupling that transforms nothing", lambda: flows.AffineCoupling(torch.ones(4), torch.nn.Identity()), "mask"),
    ("composite of a plain layer", lambda: flows.Composite([torch.nn.Linear(2, 2)]), "transforms[0]"),
    ("permutation with a repeat", lambda: flows.Permutation([0, 0]), "order"),
    ("squeeze of an odd image", lambda: flows.Squeeze()(torch.zeros(1, 1, 3, 3)), "H and W"),
    ("planar step on 3-d points", lambda: flows.Planar(2)(torch.zeros(4, 3)), "x"),
    ("IAF on points of the wrong size", lambda: flows.iaf(3, 1)(torch.zeros(4, 2)), "x"),
    ("flow sample of 0 points", lambda: flows.Flow(flows.Planar(2), 2).sample(0), "n"),
    ("TC split of mismatched shapes", lambda: metrics.total_correlation_decomposition(torch.zeros(4, 2), torch.zeros(4, 3)),
     "log_var"),
    ("minibatch TC from more than N", lambda: divergences_lesson.minibatch_tc(torch.zeros(5, 2), torch.zeros(5, 2), (8,)),
     "batch size"),
    ("flow density of the wrong shape", lambda: flows.Flow(flows.Planar(2), 2).log_prob(torch.zeros(3, 4)), "x"),
    ("logit with alpha 0.6", lambda: flows.LogitTransform(0.6), "alpha"),
    ("IAF with 0 layers", lambda: flows.iaf(2, layers=0), "layers"),
    ("flow VAE with an unknown flow", lambda: FlowVAE(flow="maf"), "flow"),
    ("flow VAE with -1 flow steps", lambda: FlowVAE(steps=-1), "flow steps K"),
    ("flow VAE on 3-d points", lambda: FlowVAE(latent_dim=2, hidden=(8,)).loss_terms(torch.zeros(3, 3)), "x"),
    ("unknown flow target", lambda: flows_lesson.target_log_density("u9", X2), "name"),
    ("unknown posterior case", lambda: flow_vae_lesson.posterior_target("three modes"), "case"),
    ("posterior fitted for 0 steps", lambda: flow_vae_lesson.fit_posterior("logistic", "planar", 1, 0), "steps"),
    ("alpha-divergence at alpha = NaN", lambda: alpha_divergence_grid(X2[:, 0], X2[:, 1], float("nan"), 0.1), "alpha"),
    ("the text's alpha formula at alpha = 0", lambda: text_alpha_divergence_grid(X2[:, 0], X2[:, 1], 0.0, 0.1), "alpha"),
    ("Renyi divergence at alpha = 1", lambda: renyi_gaussians(torch.zeros(1), torch.eye(1), torch.zeros(1), torch.eye(1), 1.0),
     "alpha"),
    ("VR bound with alpha as text", lambda: vr_bound(torch.zeros(3, 2), "half"), "alpha"),
    ("AIS with 0 steps", lambda: ais(lambda z: z.sum(-1), lambda z: z.sum(-1), lambda n: torch.zeros(n, 1), 0, 5),
     "n_steps"),
    ("AIS with 0 chains", lambda: ais(lambda z: z.sum(-1), lambda z: z.sum(-1), lambda n: torch.zeros(n, 1), 3, 0),
     "n_chains"),
    ("AIS with a step size of 0", lambda: ais(lambda z: z.sum(-1), lambda z: z.sum(-1), lambda n: torch.zeros(n, 1), 3, 2,
                                               step_size=0.0), "step_size"),
    ("AIS with a log-likelihood summed over the chains too", lambda: ais(lambda z: z.sum(-1), lambda z: z.sum(),
                                                                         lambda n: torch.zeros(n, 1), 3, 2),
     "log_likelihood"),
    ("minibatch TC from batches of 1", lambda: divergences_lesson.minibatch_tc(torch.zeros(5, 2), torch.zeros(5, 2), (1,)),
     "batch size"),
    # data
    ("unknown data source", lambda: cl.load_fashion_mnist(source="internet"), "source"),
    ("negative number of images", lambda: cl.load_fashion_mnist(n_train=-5), "n_train"),
    ("more images than there are", lambda: cl.load_fashion_mnist(n_test=10 ** 9), "n_test"),
    ("unknown data set", lambda: cl.load_dataset("mnist"), "name"),
    ("0 sprites", lambda: cl.make_sprites(0), "n"),
    ("sprites of side 7", lambda: cl.make_sprites(10, image_size=7), "image_size"),
    ("0 toy points", lambda: cl.sample_toy("two_moons", n=0), "n"),
    ("unknown toy", lambda: cl.sample_toy("galaxy", n=5), "name"),
    ("unknown energy", lambda: cl.unnormalized_log_density("U9", torch.zeros(3, 2)), "name"),
    ("energy of 3-d points", lambda: cl.unnormalized_log_density("U1", torch.zeros(3, 3)), "z"),
    ("images to show as a list", lambda: cl.show_images([[0.0]]), "images"),
    ("history term that was not recorded", lambda: cl.plot_history(cl.History(steps=[1], terms={"loss": [1.0]}),
                                                                  terms=("rate",)), "terms"),
    ("plain log ticks on the z axis", lambda: cl.plain_log_ticks(None, "z"), "axis"),
    ("plain log ticks at 0", lambda: cl.plain_log_ticks(None, "x", at=[0, 10]), "at"),
    ("plain log ticks without axes", lambda: cl.plain_log_ticks(None, "x"), "ax"),
    # estimators
    ("score-function estimate from 0 samples", lambda: estimators.score_function_samples(torch.sin, 0.0, 0.0, 0),
     "n"),
    ("Gumbel-softmax at temperature 0", lambda: estimators.gumbel_softmax_sample(torch.zeros(3), 0.0),
     "temperature"),
    ("Gamma with a negative shape", lambda: estimators.gamma_implicit_samples(-1.0, 1.0, 10), "alpha"),
    ("pathwise with a non-function", lambda: estimators.pathwise_samples("sin", 0.0, 0.0, 10), "f"),
    # adversarial hybrids and beta-TCVAE (lesson 8b)
    ("InfoGAN sample with a code out of range", lambda: InfoGAN(n_codes=4).sample(3, code=4), "code"),
    ("adversarial training of a plain VAE", lambda: train_adversarial(VAE, IMAGES, 2, progress=False), "train_adversarial"),
    ("unified objective around a plain VAE", lambda: UnifiedVAE(VAE), "flow_vae"),
    ("beta-TCVAE with a negative beta", lambda: tcvae_objective(-1.0, 100), "beta"),
    ("beta-TCVAE on a data set of one", lambda: tcvae_objective(1.0, 1), "dataset_size"),
    ("InfoGAN with one code value", lambda: InfoGAN(n_codes=1), "n_codes"),
    ("InfoGAN with -1 continuous codes", lambda: InfoGAN(n_continuous=-1), "n_continuous"),
    ("InfoGAN without continuous codes given some", lambda: InfoGAN(n_codes=4).sample(3, u=torch.zeros(3, 1)), "u"),
    ("InfoGAN continuous code outside [-1, 1]",
     lambda: InfoGAN(n_codes=4, n_continuous=1).sample(2, u=torch.tensor([[0.5], [1.5]])), "u"),
    ("InfoGAN generating without its continuous codes",
     lambda: InfoGAN(n_codes=4, n_continuous=1).generate(torch.zeros(2, 2), torch.zeros(2).long()), "u"),
    ("continuous sweep of an InfoGAN without a continuous code",
     lambda: hybrids_lesson.continuous_sweep(InfoGAN(n_codes=4)), "model"),
    ("known-MI case with a zero width", lambda: hybrids_lesson.known_information(q_sigma=0.0), "q_sigma"),
    ("InfoGAN explorer with mismatched lambdas", lambda: hybrids_lesson.infogan_explorer([], (0.0,), X2), "lams"),
    # sliders and lessons
    ("slider with min >= max", lambda: float_slider("x", 1.0, 1.0, 1.0), "min"),
    ("choice slider without options", lambda: choice_slider("k", []), "options"),
    ("live figure without controls", lambda: LiveFigure(new_figure()[0], lambda fig: None, {}), "control"),
    ("IWAE explorer with 0 repetitions", lambda: elbo_lesson.iwae_explorer(reps=0), "reps"),
    ("latent-size explorer with 0 steps", lambda: elbo_lesson.latent_size_explorer(cl.make_sprites(8), 0), "steps"),
    ("variance of 0 samples", lambda: reparam_lesson.averaged_estimates(torch.sin, 0.0, 0.0, n_values=(0,)),
     "n_values"),
    ("frequency sweep of no omegas", lambda: reparam_lesson.frequency_variances([]), "omegas"),
    ("Gumbel explorer with negative probabilities", lambda: reparam_lesson.gumbel_explorer(probs=(-0.1, 1.1)),
     "probs"),
]


def test_the_catalog_is_large_enough():
    assert len(CATALOG) >= 40


@pytest.mark.parametrize("what, call, argument", CATALOG, ids=[row[0] for row in CATALOG])
def test_bad_input_gets_a_course_error_that_names_the_argument(what, call, argument, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COURSE_LIB_CACHE", str(tmp_path / "cache"))
    with pytest.raises(cl.CourseError) as caught:
        call()
    message = str(caught.value)
    assert argument in message, f"{what}: the message does not name {argument!r}: {message}"
    assert any(word in message for word in ALLOWED), f"{what}: the message does not say what is allowed: {message}"
    assert not any(tmp_path.rglob("*")), f"{what}: left files behind: {list(tmp_path.rglob('*'))}"
