from mlops_ci.registry.git_tags import (SemVer, next_stage_tag, next_version, parse_version_tag, stage_tags,
                                  valid_model_name, version_tag)


def test_versions():
    tags = ["churn@v0.1.0", "churn@v0.2.0", "churn@v0.10.1", "other@v9.0.0", "v1.2.3", "churn@latest"]
    assert parse_version_tag("churn@v0.10.1", "churn") == SemVer(0, 10, 1)
    assert parse_version_tag("other@v9.0.0", "churn") is None
    assert next_version(tags, "churn") == SemVer(0, 11, 0)  # numeric, not lexical, order
    assert next_version(tags, "churn", "patch") == SemVer(0, 10, 2)
    assert next_version(tags, "churn", "major") == SemVer(1, 0, 0)
    assert next_version([], "churn") == SemVer(0, 1, 0)
    assert version_tag("churn", SemVer(1, 2, 3)) == "churn@v1.2.3"


def test_stage_tags_count_up():
    tags = ["churn#prod#1", "churn#prod#2", "churn#staging#1", "other#prod#7", "churn#prod#10"]
    assert [n for n, _ in stage_tags(tags, "churn", "prod")] == [1, 2, 10]
    assert next_stage_tag(tags, "churn", "prod") == "churn#prod#11"
    assert next_stage_tag(tags, "churn", "dev") == "churn#dev#1"


def test_model_names():
    assert valid_model_name("churn-model_v2.1")
    assert not valid_model_name("churn model") and not valid_model_name("a/b")
