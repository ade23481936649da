"""page_policies.yaml must stay the page's own objects."""
import pytest

from .conftest import load_page_policies, parse_page_yaml, spec_page


def test_transcription_matches_page() -> None:
    page = spec_page()
    if page is None:
        pytest.skip("spec page not reachable (set EPNP_SPEC)")
    assert parse_page_yaml(page.read_text()) == load_page_policies()


def test_transcription_has_every_object() -> None:
    names = [p["metadata"]["name"] for p in load_page_policies()]
    assert names == ["default-deny-ingress", "ibm-eventautomation-flink-operator",
                     "ibm-eventautomation-flink-jobmanager", "ibm-eventautomation-flink-jobmanager-rpc-blob",
                     "ibm-eventautomation-flink-jobmanager-stream-authoring",
                     "ibm-eventautomation-flink-taskmanager", "ibm-eventautomation-flink-jobmanager-monitoring"]
