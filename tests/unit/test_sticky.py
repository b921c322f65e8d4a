"""The sticky-comment policy against an in-memory thread (the HTTP path is tested with the fake GitHub)."""

import itertools

import pytest

from mlops_ci.adapters.github import Comment, GitHubError
from mlops_ci.sticky import publish

MARK = "<!-- mlops-ci:report id=pr -->"


class MemoryThread:
    def __init__(self):
        self.comments: dict[int, Comment] = {}
        self.ids = itertools.count(1)
        self.writes = []
        self.minimized = set()

    def add(self, body):
        cid = next(self.ids)
        self.comments[cid] = Comment(cid, body, f"2026-01-01T00:00:{cid:02d}Z", node_id=f"IC_{cid}")
        return self.comments[cid]

    def list(self):
        return list(self.comments.values())

    def create(self, body):
        self.writes.append("create")
        return self.add(body)

    def edit(self, cid, body):
        self.writes.append("edit")
        c = self.comments[cid]
        self.comments[cid] = Comment(cid, body, c.created_at, c.node_id)
        return self.comments[cid]

    def delete(self, cid):
        self.writes.append("delete")
        if cid not in self.comments:
            raise GitHubError("GitHub DELETE x failed with 404: Not Found")
        del self.comments[cid]

    def minimize(self, comment):
        self.writes.append("minimize")
        self.minimized.add(comment.id)
        return True


def ours(thread):
    return [c for c in thread.list() if MARK in c.body]


def test_create_then_update_then_unchanged():
    t = MemoryThread()
    t.add("someone else's comment")
    assert publish(t, "v1", MARK).action == "created"
    assert publish(t, "v2", MARK).action == "updated"
    before = list(t.writes)
    result = publish(t, "v2", MARK)
    assert result.action == "unchanged" and t.writes == before  # no write at all
    assert [c.body for c in ours(t)] == [f"{MARK}\nv2"]
    assert len(t.list()) == 2


def test_duplicates_from_a_race_are_removed_keeping_the_oldest():
    t = MemoryThread()
    first = t.add(f"{MARK}\nold")
    t.add(f"{MARK}\nduplicate")
    result = publish(t, "new", MARK)
    assert result.action == "updated" and result.comment.id == first.id
    assert [c.id for c in ours(t)] == [first.id]


def test_concurrent_creates_settle_to_one():
    t = MemoryThread()
    real_create = t.create

    def racing_create(body):
        t.add(f"{MARK}\nfrom the other job")  # the other job created first
        return real_create(body)

    t.create = racing_create
    result = publish(t, "mine", MARK)
    assert len(ours(t)) == 1
    assert ours(t)[0].body == f"{MARK}\nmine" and result.action == "updated"


def test_recreate_append_and_hide_previous():
    t = MemoryThread()
    publish(t, "v1", MARK)
    r = publish(t, "v2", MARK, mode="recreate")
    assert r.action == "recreated" and len(r.deleted) == 1 and len(ours(t)) == 1
    r = publish(t, "v3", MARK, mode="append")
    assert r.action == "appended" and len(ours(t)) == 2 and not r.minimized
    r = publish(t, "v4", MARK, mode="append", hide_previous=True)
    assert len(ours(t)) == 3 and len(r.minimized) == 2
    r = publish(t, "v5", MARK, mode="recreate", hide_previous=True)
    assert not r.deleted and len(r.minimized) == 3


def test_other_errors_propagate():
    t = MemoryThread()
    t.add(f"{MARK}\na")
    t.add(f"{MARK}\nb")

    def broken(cid):
        raise GitHubError("GitHub DELETE x failed with 500: boom")

    t.delete = broken
    with pytest.raises(GitHubError):
        publish(t, "c", MARK)


def test_volatile_parts_alone_do_not_cause_a_write():
    from mlops_ci.report.model import volatile

    t = MemoryThread()
    publish(t, f"auc 0.9, took {volatile('3.1 s')}", MARK)
    writes = list(t.writes)
    assert publish(t, f"auc 0.9, took {volatile('2.7 s')}", MARK).action == "unchanged"
    assert t.writes == writes
    assert publish(t, f"auc 0.8, took {volatile('2.7 s')}", MARK).action == "updated"
