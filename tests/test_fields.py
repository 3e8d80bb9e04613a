"""dltutorials.fields: a setting's type and bounds, declared once, checked by the config and by the class."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import pytest

from dltutorials.config import ConfigError, compose, validate, validate_hmc, validate_likelihood, validate_music
from dltutorials.fields import (
    Bounds,
    Count,
    Fraction,
    OneOf,
    PositiveFloat,
    PositiveInt,
    Probability,
    check_arguments,
    check_section,
    check_value,
)
from dltutorials.models.rbm import RBM


@pytest.mark.parametrize("annotation, value, message", [
    (PositiveInt, 0, "k must be > 0, got 0"),
    (PositiveInt, 2.0, "k must be an integer, got 2.0"),
    (PositiveInt, True, "k must be an integer, got True"),
    (PositiveFloat, "fast", "k must be a number, got 'fast'"),
    (PositiveFloat, float("inf"), "k must be a finite number, got inf"),
    (Probability, 1.0, "k must be in [0, 1), got 1.0"),
    (Fraction, 0, "k must be in (0, 1], got 0"),
    (Count, 0, "k must be a positive integer, got 0"),
    (Count | None, "x", "k must be a positive integer or null, got 'x'"),
    (Annotated[str, OneOf(("a", "b"))], "c", "k must be one of ['a', 'b'], got 'c'"),
    (Annotated[str, OneOf(("a", "b"))], 3, "k must be a string, got 3"),
    (bool, "yes", "k must be true or false, got 'yes'"),
    (Annotated[int, Bounds(ge=0, le=3)], 4, "k must be in [0, 3], got 4"),
])
def test_a_value_outside_its_declaration_is_refused_naming_the_key(annotation, value, message):
    with pytest.raises(ConfigError) as error:
        check_value("k", value, annotation)
    assert str(error.value) == message


@pytest.mark.parametrize("annotation, value", [
    (PositiveInt, 3), (PositiveFloat, 2), (PositiveFloat, 0.5), (Probability, 0), (Fraction, 1),
    (PositiveInt | None, None), (bool, False), (list[int], "not checked"),
])
def test_a_value_inside_its_declaration_passes_unchanged(annotation, value):
    check_value("k", value, annotation)  # nothing converted: a float field keeps an int


@dataclass
class Section:
    size: PositiveInt
    rate: PositiveFloat = 0.1


def test_a_section_is_checked_against_a_dataclass():
    check_section("a.b", {"size": 3}, Section, required=True)
    with pytest.raises(ConfigError, match=r"^a\.b\.rate must be > 0, got -1$"):
        check_section("a.b", {"size": 3, "rate": -1}, Section)
    with pytest.raises(ConfigError, match=r"^a\.b\.extra is not a parameter of Section"):
        check_section("a.b", {"size": 3, "extra": 1}, Section)
    with pytest.raises(ConfigError, match=r"^a\.b\.size is missing"):
        check_section("a.b", {}, Section, required=True)
    check_section("a.b", {"extra": 1}, Section, closed=False)


def test_a_new_field_is_checked_with_no_other_change():
    """A setting added to a declaration is checked by the config's validation and by the class alike."""

    @dataclass
    class Grown(Section):
        momentum: Probability = 0.0

    with pytest.raises(ConfigError, match=r"^a\.momentum must be in \[0, 1\), got 1\.5$"):
        check_section("a", {"size": 3, "momentum": 1.5}, Grown)

    class Layer:
        def __init__(self, n_hidden: PositiveInt, decay: Fraction = 1.0) -> None:
            check_arguments(Layer, locals())

    with pytest.raises(ValueError, match=r"^decay must be in \(0, 1\], got 2$"):
        Layer(3, decay=2)
    with pytest.raises(ConfigError, match=r"^model\.module\.decay must be in \(0, 1\], got 0$"):
        check_section("model.module", {"n_hidden": 3, "decay": 0}, Layer)


def test_a_class_and_the_config_refuse_the_same_value_from_one_declaration():
    with pytest.raises(ValueError, match=r"^cd_k must be > 0, got 0$"):
        RBM(4, 3, learning_rate=0.1, cd_k=0)
    with pytest.raises(ConfigError, match=r"^model\.pretrain\.layer\.cd_k must be > 0, got 0$"):
        validate(compose(["model=rbm", "model.pretrain.layer.cd_k=0"]))


@pytest.mark.parametrize("overrides, check, message", [
    # a constructor's arguments (conf/model/, conf/data/, conf/hmc_target/)
    (["model=mlp", "model.module.n_hidden=1.5"], validate, "model.module.n_hidden must be an integer, got 1.5"),
    (["model=mlp", "+model.module.gradient=numeric"], validate,
     "model.module.gradient must be one of ['explicit', 'autograd'], got 'numeric'"),
    (["model=dbn", "+model.pretrain.per_layer.2.momentum=1.0"], validate,
     "model.pretrain.per_layer.2.momentum must be in [0, 1), got 1.0"),
    (["model=mlp", "data.datamodule.eval_batch_size=0"], validate, "data.datamodule.eval_batch_size must be > 0"),
    (["hmc_target=banana", "hmc_target.distribution.a=0"], validate_hmc,
     "hmc_target.distribution.a must be > 0, got 0"),
    # the target itself, built before any draw (what its arguments alone do not say)
    (["hmc_target.plot_dims=[0,7]"], validate_hmc,
     "hmc_target.plot_dims must be two different dimensions of the 5-d target (0..4), got [0, 7]"),
    (["hmc_target.plot_dims=[3,3]"], validate_hmc, "hmc_target.plot_dims must be two different dimensions"),
    (["hmc_target=banana", "hmc_target.plot_dims=[1,0]"], validate_hmc,
     "hmc_target.plot_dims: banana is 2-d: dims must be (0, 1), got (1, 0)"),
    (["hmc_target=gaussian_100d_ill", "hmc_target.distribution.condition_number=1e30"], validate_hmc,
     "hmc_target.distribution: cannot build dltutorials.sampling.targets.IllConditionedGaussian "
     "(gaussian_100d_ill: covariance is not positive definite"),
    # a dataclass's fields (sections that are no constructor's arguments)
    (["chains.n_chains=0.5"], validate_hmc, "chains.n_chains must be an integer >= 1, got 0.5"),
    (["sampler.stepsize_inc=0.5"], validate_hmc, "sampler.stepsize_inc must be >= 1, got 0.5"),
    (["+chains.thinning=2"], validate_hmc, "chains.thinning is not a parameter of Chains"),
    (["model=mlp", "model.early_stopping.patience=1.5"], validate, "model.early_stopping.patience must be an integer"),
    (["model=mlp", "+model.early_stopping.min_delta=0.1"], validate,
     "model.early_stopping.min_delta is not a parameter of TutorialEarlyStopping"),
    (["model=rbm_cd1", "model.pretrain.keep_epochs=2"], validate, "model.pretrain.keep_epochs must be true or false"),
    (["model=dbn", "+model.pretrain.warmup=1"], validate, "model.pretrain.warmup is not a parameter of Pretraining"),
    (["model=rbm_cd1", "data=mnist_binarized", "data.binarize_seed=-1"], validate,
     "data.binarize_seed must be >= 0, got -1"),
    (["data=nottingham", "generation.n_samples=0"], validate_music, "generation.n_samples must be a positive integer"),
    (["data=nottingham", "evaluation.eval_subset=1.5"], validate_music,
     "evaluation.eval_subset must be a positive integer or null, got 1.5"),
    (["data=nottingham", "rnnrbm_variant=pretrained", "model.pretrain_rbm.cd_k=0"], validate_music,
     "model.pretrain_rbm.cd_k must be > 0, got 0"),
    (["data=nottingham", "+model.dropout=0.5"], validate_music, "model.dropout is not a parameter of MusicTraining"),
    # a corpus export (the Bach chorales): what music21 and the split would refuse after the download
    (["data=jsb_chorales", "data.corpus.last=400"], validate_music,
     "data.corpus.first and last must be Riemenschneider numbers with 1 <= first <= last <= 371, got 1 and 400"),
    (["data=jsb_chorales", "data.corpus.first=20", "data.corpus.last=10"], validate_music,
     "data.corpus.first and last must be Riemenschneider numbers"),
    (["data=jsb_chorales", "data.corpus.limit=0"], validate_music,
     "data.corpus.limit must be a positive number of chorales or null, got 0"),
    (["data=jsb_chorales", "data.split.valid=0.25"], validate_music,
     "data.split: split fractions {'train': 0.7, 'valid': 0.25, 'test': 0.15} do not sum to 1"),
    (["data=jsb_chorales", "data.split.test=0"], validate_music, "data.split must give train, valid, test each a "
                                                                "fraction in (0, 1)"),
    (["data=jsb_chorales", "data.corpus.limit=3"], validate_music,
     "data.split: 3 chorales split {'train': 0.7, 'valid': 0.15, 'test': 0.15} leave an empty split"),
    (["ais.seed=1.5"], validate_likelihood, "ais.seed must be an integer, got 1.5"),
    (["rnnrbm.frames_per_batch=0"], validate_likelihood, "rnnrbm.frames_per_batch must be a positive integer, got 0"),
    (["dbn_bound_samples=x"], validate_likelihood, "dbn_bound_samples must be a positive integer, got 'x'"),
])
def test_each_kind_of_section_refuses_naming_the_full_key(overrides, check, message):
    roots = {validate_hmc: "hmc", validate_music: "rnnrbm", validate_likelihood: "likelihood"}
    config_name = roots.get(check, "config")
    with pytest.raises(ConfigError) as error:
        check(compose(overrides, config_name))
    assert str(error.value).startswith(message)


def test_an_hmc_target_whose_energy_is_not_one_value_per_chain_is_refused_before_any_draw(monkeypatch):
    from dltutorials.sampling import targets

    monkeypatch.setattr(targets.TutorialGaussian, "energy", lambda self, x: (x ** 2).sum(dim=1, keepdim=True))
    with pytest.raises(ConfigError, match=r"^hmc_target\.distribution: TutorialGaussian\.energy must return one "
                                          r"energy per chain, shape \(3,\) for 3 chains, got \(3, 1\)$"):
        validate_hmc(compose(["hmc_target=gaussian_5d"], "hmc"))
