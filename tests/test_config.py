"""Experiment configs: the shipped files validate, and every mistake is one exact line naming the key."""

import pytest

from recon.experiments.config import (
    CONFIG_DIR,
    config_to_yaml,
    describe_configs,
    load_experiment,
    load_experiment_text,
    shipped_configs,
)
from recon.experiments.experiment_schema import EXPERIMENT_SCHEMA
from recon.experiments.schema import ConfigError, Field, Section, iter_fields, validate

SOLVER_KEYS = ("kind, filter, max_iter, tol, residual_tol, time_limit, preconditioning, constraint, damping, "
               "penalty, kappa, cg_max_iter, epsilon, noise_sigma, data_term, discrepancy, tau, step, samples, "
               "keep_samples, seed, sigma_max, sigma_min, zeta, learning_rate, burn_in, relaxation")
TOP_KEYS = "name, description, modality, input, operator, prior, solver, output"


def error_text(text: str, overrides=(), source="my.yaml") -> str:
    with pytest.raises(ConfigError) as caught:
        load_experiment_text(text, source, overrides)
    assert "\n" not in str(caught.value)
    return str(caught.value)


def override_error(*overrides: str) -> str:
    return error_text("name: x\n", list(overrides))


# --- shipped configs -----------------------------------------------------------------------

def test_the_four_ct_configs_are_shipped_in_the_package_folder():
    shipped = shipped_configs()
    assert {"ct-fbp", "ct-sirt", "ct-tv", "ct-wtv"} <= set(shipped)
    assert all(path.parent == CONFIG_DIR and path.suffix == ".yaml" for path in shipped.values())


@pytest.mark.parametrize("name", sorted(shipped_configs()))
def test_every_shipped_config_validates_and_says_what_it_is(name):
    config = load_experiment(name)
    assert config["name"] == name
    assert config["modality"] == name.split("-")[0]      # ct-*, mri-* and mimo-*
    assert config["description"] and "\n" not in config["description"]
    assert shipped_configs()[name].read_text(encoding="utf-8").startswith("#")  # the comment header


def test_shipped_configs_hold_the_settings_they_are_named_for():
    fbp, sirt, tv, wtv = (load_experiment(n) for n in ("ct-fbp", "ct-sirt", "ct-tv", "ct-wtv"))
    assert (fbp["solver"]["kind"], fbp["solver"]["filter"], fbp["prior"]["kind"]) == ("fbp", "ramp", "none")
    assert (sirt["solver"]["kind"], sirt["solver"]["max_iter"], sirt["solver"]["constraint"]) == (
        "sirt", 100, "nonnegative")
    assert tv["prior"] == {**tv["prior"], "kind": "tv", "strength": "auto", "fixed_strength": 0.002,
                           "strength_scale": "relative"}
    assert (tv["solver"]["kind"], tv["solver"]["max_iter"], tv["solver"]["tol"]) == ("pdhg", 200, 1e-5)
    assert wtv["prior"] == {**wtv["prior"], "kind": "weighted-tv", "strength": 0.002, "pilot": "tv",
                            "eta": 0.05, "p": 0.0}
    assert (wtv["solver"]["kind"], wtv["solver"]["max_iter"], wtv["solver"]["tol"]) == ("pdhg", 200, 1e-5)


def test_describe_configs_lists_names_with_their_one_line_descriptions():
    described = dict(describe_configs())
    assert set(described) == set(shipped_configs())
    assert described["ct-tv"] == load_experiment("ct-tv")["description"]


def test_a_shipped_name_is_found_with_or_without_yaml_and_by_path():
    assert load_experiment("ct-tv.yaml") == load_experiment("ct-tv") == load_experiment(shipped_configs()["ct-tv"])


def test_a_missing_config_lists_the_shipped_names():
    with pytest.raises(ConfigError) as caught:
        load_experiment("ct-tvv")
    names = ", ".join(sorted(shipped_configs()))
    assert str(caught.value) == (
        f"ct-tvv: no such config file, and no shipped config of that name (shipped: {names})")


# --- defaults and typing -------------------------------------------------------------------

def test_defaults_fill_every_key_in_schema_order():
    config = load_experiment_text("solver:\n  kind: fbp\n", "my.yaml")
    assert list(config) == TOP_KEYS.split(", ")
    assert list(config["solver"]) == SOLVER_KEYS.split(", ")
    assert config["input"] == {"path": None, "format": "auto", "index": None, "stream": "auto", "chunk": None,
                               "angles_deg": None, "angles_endpoint": False, "centre_offset": "auto", "intensities": "auto",
                               "allow_links": False, "view_step": 1, "arc_deg": None}
    assert config["prior"]["eta"] == 0.01 and config["prior"]["levels"] == 3
    assert config["solver"]["max_iter"] == 200 and config["output"]["figure"] is True
    dotted_keys = [key for key, _ in iter_fields(EXPERIMENT_SCHEMA)]
    assert len(dotted_keys) == 3 + 12 + 10 + 29 + 27 + 4


def test_every_field_is_documented():
    undocumented = [key for key, field in iter_fields(EXPERIMENT_SCHEMA) if not field.doc]
    assert undocumented == []


def test_ints_become_floats_where_the_field_is_a_float():
    config = load_experiment_text("prior:\n  strength: 1\ninput:\n  angles_deg: [0, 360]\n  centre_offset: 3\n",
                                  "my.yaml")
    assert config["prior"]["strength"] == 1.0 and isinstance(config["prior"]["strength"], float)
    assert config["input"]["angles_deg"] == [0.0, 360.0]
    assert all(isinstance(a, float) for a in config["input"]["angles_deg"])
    assert config["input"]["centre_offset"] == 3.0 and isinstance(config["input"]["centre_offset"], float)


def test_exponent_floats_without_a_dot_are_numbers():
    # PyYAML alone reads 1e-5 as the string '1e-5'.
    assert load_experiment_text("solver:\n  tol: 1e-5\n", "my.yaml")["solver"]["tol"] == 1e-5


def test_an_empty_section_means_all_defaults():
    assert load_experiment_text("output:\n", "my.yaml")["output"] == {"path": None, "figure": True, "history": True,
                                                                        "segment": "none"}


def test_validate_returns_a_new_dict_and_leaves_the_input_alone():
    raw = {"input": {"angles_deg": [0, 180]}}
    config = validate(raw, EXPERIMENT_SCHEMA, "my.yaml")
    config["input"]["angles_deg"][0] = 5.0
    assert raw == {"input": {"angles_deg": [0, 180]}}


# --- exact one-line errors -----------------------------------------------------------------

@pytest.mark.parametrize("text, message", [
    ("solvr:\n  kind: fbp\n", f"my.yaml: solvr: unknown key (known: {TOP_KEYS})"),
    ("solver:\n  maxiter: 3\n", f"my.yaml: solver.maxiter: unknown key (known: {SOLVER_KEYS})"),
    ("prior:\n  strength: abc\n", "my.yaml: prior.strength: expected 'auto' or a number, got 'abc'"),
    ("solver:\n  max_iter: yes\n", "my.yaml: solver.max_iter: expected an integer, got true"),
    ("prior:\n  strength: true\n", "my.yaml: prior.strength: expected 'auto' or a number, got true"),
    ("solver:\n  max_iter: 3.5\n", "my.yaml: solver.max_iter: expected an integer, got 3.5"),
    ("solver: [1, 2]\n", "my.yaml: solver: expected a mapping of settings, got [1, 2]"),
    ("output: 3\n", "my.yaml: output: expected a mapping of settings, got 3"),
    ("- solver\n", "my.yaml: expected a mapping of sections, got ['solver']"),
    ("solver:\n  max_iter: -5\n", "my.yaml: solver.max_iter: expected an integer >= 0, got -5"),
    ("prior:\n  p: 1.5\n", "my.yaml: prior.p: expected a number in [0, 1], got 1.5"),
    ("prior:\n  eta: 0\n", "my.yaml: prior.eta: expected a number > 0, got 0"),
    ("prior:\n  levels: 0\n", "my.yaml: prior.levels: expected an integer >= 1, got 0"),
    ("prior:\n  kind: tvv\n",
     "my.yaml: prior.kind: expected one of 'none', 'tv', 'weighted-tv', 'l1-wavelet', 'tikhonov', 'l1', 'l2', 'joint-tv', "
     "'pnp', 'diffusion', 'unrolled' or 'lpn', got 'tvv'"),
    ("input:\n  centre_offset: automatic\n",
     "my.yaml: input.centre_offset: expected 'auto' or a number, got 'automatic'"),
    ("input:\n  angles_deg: [0, 180, 360]\n",
     "my.yaml: input.angles_deg: expected a list of 2 numbers or null, got [0, 180, 360]"),
    ("operator:\n  image_shape: [0, 256]\n",
     "my.yaml: operator.image_shape: expected a list of 2 integers >= 1 or null, got [0, 256]"),
    ("solver:\n  max_iter: null\n", "my.yaml: solver.max_iter: expected an integer, got null"),
    ("solver:\n  time_limit: 0\n", "my.yaml: solver.time_limit: expected a number > 0 or null, got 0"),
    ("solver:\n  tol: .nan\n", "my.yaml: solver.tol: expected a number, got nan"),
    ("name: [a]\n", "my.yaml: name: expected a string, got ['a']"),
    ("output:\n  figure: 1\n", "my.yaml: output.figure: expected true or false, got 1"),
    ("modality: pet\n", "my.yaml: modality: expected one of 'ct', 'mri', 'mimo' or 'deblur', got 'pet'"),
])
def test_a_bad_config_is_one_line_naming_the_key(text, message):
    assert error_text(text) == message


def test_nullable_fields_accept_null():
    config = load_experiment_text("input:\n  path: null\n  index: null\nsolver:\n  time_limit: ~\n", "my.yaml")
    assert config["input"]["path"] is None and config["solver"]["time_limit"] is None


def test_a_yaml_syntax_error_names_the_file_and_line():
    text = "name: x\nprior:\n  kind: tv\n   strength: 3\n"
    assert error_text(text, source="configs/bad.yaml") == (
        "configs/bad.yaml: line 4, column 12: invalid YAML (mapping values are not allowed here)")


def test_a_key_given_twice_is_an_error_naming_the_line():
    assert error_text("solver:\n  max_iter: 3\n  max_iter: 4\n") == (
        "my.yaml: line 3, column 3: duplicate key 'max_iter'")


def test_an_empty_file_is_an_error():
    assert error_text("# nothing\n") == "my.yaml: the file is empty (expected a mapping of sections)"


def test_a_file_on_disk_is_named_as_given(tmp_path):
    path = tmp_path / "my.yaml"
    path.write_text("solver:\n  max_iter: -5\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_experiment(str(path))
    assert str(caught.value) == f"{path}: solver.max_iter: expected an integer >= 0, got -5"


def test_a_shipped_config_is_named_by_its_file_name(tmp_path, monkeypatch):
    import recon.experiments.config as config_module

    (tmp_path / "ct-bad.yaml").write_text("prior:\n  p: 2\n", encoding="utf-8")
    monkeypatch.setattr(config_module, "CONFIG_DIR", tmp_path)
    with pytest.raises(ConfigError) as caught:
        load_experiment("ct-bad")
    assert str(caught.value) == "ct-bad.yaml: prior.p: expected a number in [0, 1], got 2"


# --- overrides -----------------------------------------------------------------------------

def test_overrides_set_nested_values_with_yaml_typing():
    config = load_experiment("ct-tv", ["solver.max_iter=300", "input.angles_deg=[0,360]", "prior.kind=tv",
                                       "input.path=null", "output.figure=false", "solver.tol=1e-6",
                                       "input.centre_offset=-2.5", "input.path = data/scan.h5"])
    assert config["solver"]["max_iter"] == 300
    assert config["input"]["angles_deg"] == [0.0, 360.0]
    assert config["output"]["figure"] is False
    assert config["solver"]["tol"] == 1e-6
    assert config["input"]["centre_offset"] == -2.5
    assert config["input"]["path"] == "data/scan.h5"  # the later override wins, spaces around = are ignored
    assert load_experiment("ct-tv", ["input.path=x.h5", "input.path=null"])["input"]["path"] is None


def test_overrides_add_keys_the_file_leaves_out_and_keep_the_rest():
    config = load_experiment_text("solver:\n  kind: sirt\n", "my.yaml", ["solver.max_iter=7", "prior.eta=0.5"])
    assert (config["solver"]["kind"], config["solver"]["max_iter"], config["prior"]["eta"]) == ("sirt", 7, 0.5)


def test_a_string_setting_keeps_the_override_text_as_written():
    config = load_experiment_text("name: x\n", "my.yaml", ["name=2024", "description=note: fast"])
    assert (config["name"], config["description"]) == ("2024", "note: fast")


def test_an_override_of_a_key_missing_from_the_schema_fails_naming_it():
    # max_iter is absent from the file but known to the schema; maxiter is known to neither.
    assert load_experiment_text("name: x\n", "my.yaml", ["solver.max_iter=3"])["solver"]["max_iter"] == 3
    assert override_error("solver.maxiter=3") == (
        f"--set solver.maxiter=3: unknown key solver.maxiter (known in solver: {SOLVER_KEYS})")
    assert override_error("solve.kind=fbp") == (
        f"--set solve.kind=fbp: unknown key solve.kind (known at the top level: {TOP_KEYS})")


def test_an_override_into_a_setting_fails_naming_it():
    assert override_error("solver.kind.x=1") == (
        "--set solver.kind.x=1: unknown key solver.kind.x (solver.kind is a setting, not a section)")


def test_an_override_without_equals_fails():
    assert override_error("solver.max_iter") == "--set solver.max_iter: expected KEY=VALUE, e.g. solver.max_iter=300"
    assert override_error("=3") == "--set =3: expected KEY=VALUE, e.g. solver.max_iter=300"


def test_a_bad_override_value_fails_naming_the_override_and_key():
    assert override_error("solver.max_iter=-1") == (
        "--set solver.max_iter=-1: solver.max_iter: expected an integer >= 0, got -1")
    assert override_error("prior.strength=abc") == (
        "--set prior.strength=abc: prior.strength: expected 'auto' or a number, got 'abc'")
    assert override_error("solver.max_iter=[3") == (
        "--set solver.max_iter=[3: solver.max_iter: expected an integer, got '[3'")
    assert override_error("solver=3") == "--set solver=3: solver: expected a mapping of settings, got 3"


def test_a_bad_value_in_the_file_is_blamed_on_the_file_even_with_overrides():
    assert error_text("solver:\n  tol: -1\n", ["solver.max_iter=3"]) == (
        "my.yaml: solver.tol: expected a number >= 0, got -1")


# --- round trip ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(shipped_configs()))
def test_config_to_yaml_reads_back_to_the_same_dict(name):
    config = load_experiment(name, ["input.angles_deg=[0,360]", "operator.image_shape=[128,128]",
                                    "description=1e-5", "name=yes", "input.centre_offset=1.5"])
    text = config_to_yaml(config)
    assert load_experiment_text(text, "result.h5") == config
    assert text == config_to_yaml(load_experiment_text(text, "result.h5"))  # stable
    assert text.index("input:") < text.index("operator:") < text.index("prior:") < text.index("solver:")
    assert "angles_deg: [0.0, 360.0]" in text


def test_config_to_yaml_rejects_a_dict_that_is_not_a_config():
    with pytest.raises(ConfigError, match="solver.maxiter: unknown key"):
        config_to_yaml({"solver": {"maxiter": 3}})


# --- the schema machinery itself -----------------------------------------------------------

def test_a_schema_default_that_fails_its_own_field_is_caught_at_definition():
    with pytest.raises(TypeError, match="default -1"):
        Field(int, -1, minimum=0)
    with pytest.raises(TypeError, match="unknown field kind"):
        Field("complex", 0)
    with pytest.raises(TypeError, match="not a Field or Section"):
        Section({"x": 3})


def test_bool_is_never_a_number_and_ints_are_not_strings():
    schema = Section({"n": Field(int, 0), "x": Field(float, 0.0), "s": Field(str, "")})
    for key, value in (("n", True), ("x", False), ("s", 3)):
        with pytest.raises(ConfigError, match=f"^t: {key}: expected"):
            validate({key: value}, schema, "t")
