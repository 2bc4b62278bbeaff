"""The service contract: every bad field named in one line, and the shop's reads in their shapes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from aftershock.config.placeholders import PLACEHOLDERS, render
from aftershock.config.service_contract import (
    SHOP_CONTRACT,
    ContractInvalid,
    load_contract,
)
from aftershock.config.service_reads import READS, QueryShapeWrong, check_shape, not_judged
from aftershock.config.topology import Topology
from aftershock.sandbox.endpoints import connect
from aftershock.sandbox.state import load_credentials


def contract(tmp_path: Path, **changes: object) -> Path:
    """The shop's contract, written elsewhere with top-level sections changed (its files kept)."""
    doc = yaml.safe_load(SHOP_CONTRACT.read_text())
    doc.update(changes)
    if isinstance(doc.get("schema"), dict) and doc["schema"].get("apply") == ["schema.sql"]:
        doc["schema"]["apply"] = [str(SHOP_CONTRACT.parent / "schema.sql")]
    if isinstance(doc.get("load"), dict) and doc["load"].get("locustfile") == "locustfile.py":
        doc["load"]["locustfile"] = str(SHOP_CONTRACT.parent / "locustfile.py")
    path = tmp_path / "service.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def problem(path: Path) -> str:
    with pytest.raises(ContractInvalid) as caught:
        load_contract(path)
    assert caught.value.exit_code == 2
    text = str(caught.value)
    assert "\n" not in text, text
    return text


def test_the_shops_contract_is_the_default_and_declares_every_read() -> None:
    shop = load_contract()
    assert shop.name == "shop"
    assert set(shop.reads) == set(READS)
    assert shop.readiness.path == "/health/readiness"
    assert [s.name for s in shop.sidecars] == ["relay", "consumer"]
    assert all(f.is_file() for f in shop.schema_files)
    assert shop.locustfile.name == "locustfile.py"
    assert shop.locustfile.is_file()


def test_a_contract_without_a_command_names_the_field(tmp_path: Path) -> None:
    doc = yaml.safe_load(SHOP_CONTRACT.read_text())["sandbox"]
    doc.pop("command")
    assert "sandbox.command: missing" in problem(contract(tmp_path, sandbox=doc))


def test_a_sidecar_without_a_command_names_its_index(tmp_path: Path) -> None:
    doc = yaml.safe_load(SHOP_CONTRACT.read_text())["sandbox"]
    doc["sidecars"][1].pop("command")
    assert "sandbox.sidecars[1].command: missing" in problem(contract(tmp_path, sandbox=doc))


def test_an_unknown_placeholder_is_named_with_the_known_ones(tmp_path: Path) -> None:
    doc = yaml.safe_load(SHOP_CONTRACT.read_text())["sandbox"]
    doc["env"] = {"DATABASE_URL": "{pg_url}"}
    text = problem(contract(tmp_path, sandbox=doc))
    assert "sandbox.env.DATABASE_URL: unknown placeholder {pg_url}" in text, text
    assert "pg_dsn" in text
    assert "pg_jdbc_url" in text


def test_a_malformed_brace_says_how_to_write_a_literal_one(tmp_path: Path) -> None:
    doc = yaml.safe_load(SHOP_CONTRACT.read_text())["sandbox"]
    doc["command"] = ["node", "server.js", "--opts={region"]
    assert "write a literal brace" in problem(contract(tmp_path, sandbox=doc))


def test_every_problem_of_a_contract_is_named_at_once(tmp_path: Path) -> None:
    doc = yaml.safe_load(SHOP_CONTRACT.read_text())
    doc["sandbox"]["readiness"] = {"path": "health", "status": 700}
    doc["schema"]["reads"] = {"orders": "SELECT 1", "registers": "SELECT 1 AS key"}
    text = problem(contract(tmp_path, sandbox=doc["sandbox"], schema=doc["schema"]))
    assert "sandbox.readiness.path: 'health' is not an HTTP path" in text, text
    assert "sandbox.readiness.status: must be an HTTP status" in text, text
    assert "schema.reads.orders: unknown read" in text, text
    assert "schema.reads.registers: must use its parameter %(prefix)s" in text, text


def test_a_missing_locustfile_or_schema_file_is_named(tmp_path: Path) -> None:
    text = problem(contract(tmp_path, load={"locustfile": "nowhere.py"}))
    assert "load.locustfile:" in text, text
    assert "nowhere.py is not a file" in text, text


def test_another_contract_version_is_refused(tmp_path: Path) -> None:
    assert "contract: must be 1" in problem(contract(tmp_path, contract=2))


def test_a_file_that_is_not_yaml_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "service.yaml"
    path.write_text("name: shop\nsandbox: [\n")
    assert "not YAML at line" in problem(path)


def test_a_read_that_answers_other_columns_names_both_shapes() -> None:
    with pytest.raises(QueryShapeWrong) as caught:
        check_shape("orders-api", "acknowledged_orders", ["request_id", "order_uuid"])
    assert caught.value.exit_code == 3
    assert "(request_id, order_uuid), not (key, order_id)" in str(caught.value)
    check_shape("orders-api", "acknowledged_orders", ["KEY", "order_id"])  # names, any case


def test_an_undeclared_read_is_not_judged_and_says_which(tmp_path: Path) -> None:
    doc = yaml.safe_load(SHOP_CONTRACT.read_text())["schema"]
    del doc["reads"]["stock"]
    service = load_contract(contract(tmp_path, schema=doc))
    assert not service.declares("stock")
    assert not_judged("stock") == "not judged: the service declares no stock query"


def test_a_template_renders_only_with_every_value() -> None:
    assert render("{listen_host}:{listen_port}", {"listen_host": "a", "listen_port": "1"}) == "a:1"
    with pytest.raises(ValueError, match=r"no value for \{pg_dsn\}"):
        render("{pg_dsn}", {})
    assert all(description for description in PLACEHOLDERS.values())


@pytest.mark.sandbox
def test_the_shops_reads_answer_in_their_shapes_on_the_sandbox(whole_sandbox: Topology) -> None:
    """Each declared read runs on the shop's real database and answers its columns."""
    shop = load_contract()
    with connect(whole_sandbox, load_credentials(whole_sandbox), dbname=shop.database) as conn:
        for name, query in shop.reads.items():
            cursor = conn.execute(query, {"prefix": "no-such-run-"})
            check_shape(shop.name, name, [c.name for c in cursor.description or []])
            rows = cursor.fetchall()
            if name == "stock":
                assert rows, "the shop's catalog is seeded: the stock read must see it"


def test_the_contract_docs_list_every_placeholder_and_read() -> None:
    page = (Path(__file__).resolve().parents[1] / "docs" / "service-contract.md").read_text()
    for name in [*PLACEHOLDERS, *READS]:
        assert f"`{name}`" in page, name
