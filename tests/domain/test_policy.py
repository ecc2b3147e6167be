"""Policy profiles are data: every rule names its seed section, silent seeds say so, and a
broken profile is refused with its file, field and reason."""

from pathlib import Path

import pytest

from workflows.policy import PolicyError, Profile, get_profile, load_profile_file, load_profiles

BUILT_IN = ("london", "isle-of-man", "darlington", "tees", "birmingham")
SEED_PREFIX = {"london": "000", "isle-of-man": "001", "darlington": "002", "tees": "003", "birmingham": "004"}


def rules(profile: Profile):
    for name in Profile.model_fields:
        value = getattr(profile, name)
        if hasattr(value, "source"):
            yield name, value


def test_the_five_authorities_load():
    assert set(BUILT_IN) <= set(load_profiles())


@pytest.mark.parametrize("policy", BUILT_IN)
def test_every_rule_names_its_seed_section_or_says_it_is_a_default(policy):
    profile = get_profile(policy)
    for name, rule in rules(profile):
        assert rule.source.startswith(("default", "000", "001", "002", "003", "004")), f"{policy}.{name}: {rule.source}"
    # At least the first core group cites this authority's own seed where the seed has it.
    cited = [rule.source for _, rule in rules(profile) if rule.source.startswith(SEED_PREFIX[policy])]
    assert cited, f"{policy} cites nothing from its own seed"


def test_darlington_counts_review_months_in_days():
    profile = get_profile("darlington")
    assert profile.first_review.within.days == 91
    assert profile.later_review.within.days == 182


def test_london_core_groups_slow_to_two_monthly_after_the_first_review():
    profile = get_profile("london")
    assert profile.core_group.interval.weeks == 6
    assert profile.core_group.interval_after_first_review.months == 2


def test_birmingham_is_silent_on_the_first_core_group_and_says_so():
    assert get_profile("birmingham").first_core_group.source.startswith("default (seed silent")


def test_an_authority_adds_its_own_profile_without_code(tmp_path: Path, monkeypatch):
    text = (Path(__file__).parents[2] / "workflows/policies/tees.toml").read_text()
    (tmp_path / "northshire.toml").write_text(
        text.replace('id = "tees"', 'id = "northshire"').replace('region = "ENG"', 'region = "WLS"')
    )
    monkeypatch.setenv("CPPLAN_POLICY_DIR", str(tmp_path))
    profile = get_profile("northshire")
    assert profile.region == "WLS"


def test_a_profile_with_an_error_is_refused_with_file_field_and_reason(tmp_path: Path, monkeypatch):
    text = (Path(__file__).parents[2] / "workflows/policies/tees.toml").read_text()
    bad = tmp_path / "broken.toml"
    bad.write_text(
        text.replace('id = "tees"', 'id = "broken"').replace(
            "within = { working_days = 10 }", "within = { working_days = -3 }", 1
        )
    )
    monkeypatch.setenv("CPPLAN_POLICY_DIR", str(tmp_path))
    with pytest.raises(PolicyError) as err:
        load_profiles()
    message = str(err.value)
    assert (
        "broken.toml" in message
        and "first_core_group.within.working_days" in message
        and "greater than or equal to 0" in message
    )


def test_a_profile_whose_id_is_not_its_file_name_is_refused(tmp_path: Path):
    text = (Path(__file__).parents[2] / "workflows/policies/tees.toml").read_text()
    path = tmp_path / "other.toml"
    path.write_text(text)
    with pytest.raises(PolicyError, match="id: must match the file name"):
        load_profile_file(path)


def test_an_unknown_rule_is_refused_rather_than_ignored(tmp_path: Path):
    text = (Path(__file__).parents[2] / "workflows/policies/tees.toml").read_text()
    path = tmp_path / "tees.toml"
    path.write_text(text + '\n[visits_typo]\nsource = "x"\n')
    with pytest.raises(PolicyError, match="visits_typo"):
        load_profile_file(path)


def test_an_unknown_policy_lists_the_known_ones():
    with pytest.raises(PolicyError, match="known: .*london"):
        get_profile("atlantis")
