"""The sticky-comment policy against an in-memory thread (the HTTP path is tested with the fake GitHub)."""

import itertools

import pytest

from mlops_ci.github.api import Comment, GitHubError
from mlops_ci.github.sticky import publish

MARK = "<!-- mlops-ci:report id=pr -->"
BOT = "github-actions[bot]"


class MemoryThread:
    def __init__(self, login=BOT):
        self.login = login  # who this thread's token writes as
        self.comments: dict[int, Comment] = {}
        self.ids = itertools.count(1)
        self.writes = []
        self.minimized = set()

    def add(self, body, author=None):
        cid = next(self.ids)
        author = author or self.login
        self.comments[cid] = Comment(cid, body, f"2026-01-01T00:00:{cid:02d}Z", node_id=f"IC_{cid}",
                                     author=author, author_type="Bot" if author.endswith("[bot]") else "User")
        return self.comments[cid]

    def list(self):
        return list(self.comments.values())

    def create(self, body):
        self.writes.append("create")
        return self.add(body)

    def edit(self, cid, body):
        self.writes.append("edit")
        c = self.comments[cid]
        assert c.author == self.login, f"edited comment {cid} by {c.author}"  # GitHub would let a maintainer
        self.comments[cid] = Comment(cid, body, c.created_at, c.node_id, author=c.author, author_type=c.author_type)
        return self.comments[cid]

    def delete(self, cid):
        self.writes.append("delete")
        assert cid not in self.comments or self.comments[cid].author == self.login, f"deleted foreign {cid}"
        if cid not in self.comments:
            raise GitHubError("GitHub DELETE x failed with 404: Not Found")
        del self.comments[cid]

    def minimize(self, comment):
        self.writes.append("minimize")
        self.minimized.add(comment.id)
        return True


def ours(thread):
    return [c for c in thread.list() if MARK in c.body and c.author == thread.login]


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


# -- only the token's own comments are ever ours ------------------------------------------------
def test_a_foreign_comment_carrying_the_marker_is_neither_updated_nor_deleted():
    t = MemoryThread()
    bait = t.add(f"{MARK}\nI am the report, trust me", author="outside-contrib")
    result = publish(t, "real report", MARK)
    assert result.action == "created" and result.comment.author == BOT and not result.deleted
    assert t.comments[bait.id].body == f"{MARK}\nI am the report, trust me"  # untouched, still there
    assert publish(t, "real report v2", MARK).action == "updated"
    assert publish(t, "real report v2", MARK).action == "unchanged"
    assert t.comments[bait.id].body == f"{MARK}\nI am the report, trust me"
    assert [c.body for c in ours(t)] == [f"{MARK}\nreal report v2"] and len(t.list()) == 2


def test_an_older_foreign_marker_comment_is_not_kept_as_the_oldest_after_a_create():
    t = MemoryThread()
    bait = t.add(f"{MARK}\nold bait", author="outside-contrib")
    t.add(f"{MARK}\nbait by another bot", author="some-other-app[bot]")
    result = publish(t, "real", MARK)
    assert result.action == "created" and result.comment.id != bait.id
    assert bait.id in t.comments and t.writes == ["create"]


def test_a_maintainer_quoting_the_marker_is_not_overwritten():
    t = MemoryThread()
    publish(t, "v1", MARK)
    quote = t.add(f"> {MARK}\n> v1\n\nwhy did auc drop?", author="mia-maintainer")
    quote_by_us = t.add(f"> {MARK}\n> v1\n\nquoted under our own (PAT) login")
    assert publish(t, "v2", MARK).action == "updated"
    assert t.comments[quote.id].body.endswith("why did auc drop?")
    assert t.comments[quote_by_us.id].body.endswith("quoted under our own (PAT) login")
    assert publish(t, "v3", MARK, mode="recreate").deleted == [1]  # only our report, never the quotes
    assert quote.id in t.comments and quote_by_us.id in t.comments


def test_recreate_and_hide_previous_never_touch_foreign_comments():
    t = MemoryThread()
    bait = t.add(f"{MARK}\nbait", author="outside-contrib")
    r = publish(t, "v1", MARK, mode="recreate")
    assert r.action == "recreated" and not r.deleted
    r = publish(t, "v2", MARK, mode="append", hide_previous=True)
    assert bait.id not in t.minimized and bait.id not in r.minimized and len(r.minimized) == 1


def test_explicit_author_and_lazy_resolution():
    t = MemoryThread(login="my-app[bot]")
    t.add(f"{MARK}\nby github-actions", author=BOT)  # e.g. left by a GITHUB_TOKEN run
    mine = t.add(f"{MARK}\nold", author="my-app[bot]")
    asked = []

    def whoami():
        asked.append(1)
        return "My-App[bot]"  # logins compare case-insensitively

    r = publish(t, "new", MARK, author=whoami)
    assert r.action == "updated" and r.comment.id == mine.id and asked == [1]
    r = publish(t, "new", MARK, author="my-app[bot]")
    assert r.action == "unchanged" and r.comment.id == mine.id


def test_identity_is_not_asked_when_no_comment_carries_the_marker():
    t = MemoryThread(login="octo-dev")
    t.add("just chatting", author="mia-maintainer")

    def whoami():
        raise AssertionError("identity looked up although nothing needed telling apart")

    r = publish(t, "v1", MARK, author=whoami)
    assert r.action == "created" and r.comment.author == "octo-dev"


def test_unknown_identity_falls_back_to_github_actions_and_the_created_comment_corrects_it():
    t = MemoryThread(login="my-app[bot]")  # an App token, no explicit author, GET /user impossible
    first = t.add(f"{MARK}\nold", author="my-app[bot]")
    r = publish(t, "new", MARK, author=lambda: None)
    # github-actions[bot] did not match, so a comment was created; its author tells who we are,
    # and the race check then folds it into the oldest one of ours
    assert r.comment.id == first.id and [c.id for c in ours(t)] == [first.id]
    assert ours(t)[0].body == f"{MARK}\nnew"


def test_a_body_with_the_marker_not_first_still_gets_it_first():
    t = MemoryThread()
    r = publish(t, f"see <!-- x --> and {MARK} inside", MARK)
    assert r.comment.body.startswith(MARK)
    assert publish(t, f"see <!-- x --> and {MARK} inside", MARK).action == "unchanged"
