"""Tags on conversations and tickets (#18): chosen from bot/console/tags.yml, set as a whole, shown in the lists
and filtered by."""

from __future__ import annotations

import pytest

from bot.console import tags
from tests.test_console_api import add_handoff, add_rasa_events, client, database, login, make_client, rasa  # noqa: F401 - fixtures
from tests.test_console_desk import add_ticket, numbers


def test_tickets_and_conversations_are_tagged_from_the_list_and_filtered_by_tag(client, database) -> None:  # noqa: F811
    add_ticket(database, "TK202611020001")
    add_ticket(database, "TK202611020002")
    add_handoff(database, "web-angry")
    add_handoff(database, "web-calm")
    li = login(client, "li")
    names = client.get("/api/tags", headers=li).json()
    assert names == list(tags.load()) and "投诉" in names and "医疗纠纷风险" in names

    tagged = client.put("/api/tags/ticket", headers=li, json={"target": "TK202611020001", "tags": ["退款", "投诉"]})
    assert tagged.status_code == 200, tagged.text
    assert tagged.json() == {"target": "TK202611020001", "tags": ["投诉", "退款"]}  # in the list's order
    client.put("/api/tags/conversation", headers=li, json={"target": "web-angry", "tags": ["医疗纠纷风险"]})

    assert numbers(client, li, "?tag=退款") == ["TK202611020001"]
    assert numbers(client, li, "?tag=已到院") == []
    listed = {t["number"]: t["tags"] for t in client.get("/api/tickets", headers=li).json()}
    assert listed == {"TK202611020001": ["投诉", "退款"], "TK202611020002": []}
    queue = client.get("/api/handoffs", params={"status": "waiting", "tag": "医疗纠纷风险"}, headers=li).json()
    assert [(h["conversation_id"], h["tags"]) for h in queue] == [("web-angry", ["医疗纠纷风险"])]
    assert len(client.get("/api/handoffs?status=waiting", headers=li).json()) == 2

    # Setting the tags replaces them; an empty list removes them all.
    assert client.put("/api/tags/ticket", headers=li, json={"target": "TK202611020001", "tags": ["投诉"]}).json()["tags"] == ["投诉"]
    assert client.get("/api/tags/ticket", params={"target": "TK202611020001"}, headers=li).json()["tags"] == ["投诉"]
    assert client.put("/api/tags/conversation", headers=li, json={"target": "web-angry", "tags": []}).json()["tags"] == []

    unknown = client.put("/api/tags/ticket", headers=li, json={"target": "TK202611020002", "tags": ["投诉", "随便写的"]})
    assert unknown.status_code == 422 and "随便写的" in unknown.json()["detail"]
    assert client.get("/api/tags/ticket", params={"target": "TK202611020002"}, headers=li).json()["tags"] == []
    for bad in ({"target": "", "tags": []}, {"target": "x", "tags": ["长" * 33]}, {"target": "x"},
                {"target": "x", "tags": ["投诉"] * 31}, {"target": "x" * 256, "tags": []}):
        assert client.put("/api/tags/ticket", headers=li, json=bad).status_code == 422
    assert client.put("/api/tags/patient", headers=li, json={"target": "x", "tags": []}).status_code == 422
    assert client.get("/api/tickets?tag=" + "长" * 33, headers=li).status_code == 422
    assert client.put("/api/tags/ticket", json={"target": "x", "tags": []}).status_code == 401


def test_a_malformed_tag_list_is_refused_with_the_reason() -> None:
    assert tags.parse({"tags": ["投诉", "退款"]}) == ("投诉", "退款")
    for document, reason in ((["投诉"], "non-empty list"), ({"tags": []}, "non-empty list"), ({"tags": ["投诉", "投诉"]}, "twice"),
                             ({"tags": ["长" * 33]}, "1-32"), ({"tags": [7]}, "1-32")):
        with pytest.raises(tags.TagsFileError, match=reason):
            tags.parse(document)


def test_a_patients_tags_are_in_their_export_and_go_with_their_deletion(client, database) -> None:  # noqa: F811
    from bot import patient_data  # noqa: PLC0415
    from bot.store.db import session_scope  # noqa: PLC0415

    add_ticket(database, "TK202611020001", conversation_id="web-mine", phone="13912345678")
    add_ticket(database, "TK202611020002", conversation_id="web-other", phone="13700001111")
    add_rasa_events(database, [("web-unrelated", "user", 1.0, "greet")])  # Rasa's table, as in production
    li = login(client, "li")
    client.put("/api/tags/ticket", headers=li, json={"target": "TK202611020001", "tags": ["退款"]})
    client.put("/api/tags/conversation", headers=li, json={"target": "web-mine", "tags": ["医疗纠纷风险"]})
    client.put("/api/tags/ticket", headers=li, json={"target": "TK202611020002", "tags": ["投诉"]})
    with session_scope(database) as session:
        patient = patient_data.find(session, "13912345678")
        exported = patient_data.export(session, patient)
        assert sorted((t["target"], t["tag"]) for t in exported["tags"]) == [("TK202611020001", "退款"), ("web-mine", "医疗纠纷风险")]
        assert patient_data.delete_all(session, patient)["tags"] == 2
    assert client.get("/api/tags/ticket", params={"target": "TK202611020002"}, headers=li).json()["tags"] == ["投诉"]
    assert client.get("/api/tags/conversation", params={"target": "web-mine"}, headers=li).json()["tags"] == []
