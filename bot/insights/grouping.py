"""Unhandled messages: listed, grouped by similarity, assigned to an intent or dismissed by an
editor, and exported as Rasa NLU training data. scikit-learn is imported only when grouping."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select, update
from sqlalchemy.engine import Connection, Engine

from bot.core.db import NLU_TURN_STATUSES, handoffs, nlu_turns, utcnow
from bot.core.taxonomy import FALLBACK_INTENT, OUT_OF_SCOPE_INTENT
from bot.insights.model import NO_ARTICLE, InsightsError, TrafficGroup, TrafficItem, _chunks
from bot.insights.pleasantries import is_pleasantry

UNRESOLVED_HANDOFFS = ("misunderstood", "not_helped", "angry_repetition")
UNRESOLVED_TURNS = 3  # customer turns before such an escalation that count as unresolved
SIMILARITY = 0.5  # cosine similarity of character n-grams: typo'd variants of one question
LINKAGE_LIMIT = 4000  # distinct texts per language grouped by average linkage; greedy above


class GroupingMixin:
    """The unhandled messages of :class:`bot.insights.Insights`, and an editor's decisions on them."""

    engine: Engine
    project_root: Path

    def intents(self) -> list[str]:
        """The intents an editor may assign messages to: those of the project's domain.yml."""
        from bot.core.project import Project

        try:
            return sorted({intent.value for intent in Project(self.project_root).intents()})
        except (OSError, yaml.YAMLError) as exc:
            raise InsightsError(f"cannot read the intents of domain.yml: {exc}") from exc

    def unhandled(
        self,
        *,
        since: datetime | None = None,
        language: str | None = None,
        status: str = "new",
        limit: int = 2000,
    ) -> list[TrafficGroup]:
        """The newest ``limit`` messages that need an editor, grouped; biggest groups first."""
        return group_items(self.unhandled_items(since=since, language=language, status=status, limit=limit))

    def unhandled_items(
        self,
        *,
        since: datetime | None = None,
        language: str | None = None,
        status: str = "new",
        limit: int = 2000,
    ) -> list[TrafficItem]:
        """The messages of :meth:`unhandled`, newest first, without grouping. Greetings, thanks
        and goodbyes are never among them (bot/insights/pleasantries.py)."""
        if status not in NLU_TURN_STATUSES:
            raise InsightsError(f"status must be one of {', '.join(NLU_TURN_STATUSES)}, not {status!r}")
        filters = [nlu_turns.c.status == status]
        if since is not None:
            filters.append(nlu_turns.c.created_at >= since)
        if language is not None:
            filters.append(nlu_turns.c.language == language)
        with self.engine.connect() as conn:
            unresolved = _unresolved_turn_ids(conn, since)
            rows = list(
                conn.execute(
                    select(nlu_turns)
                    .where(*filters, nlu_turns.c.intent.in_((FALLBACK_INTENT, OUT_OF_SCOPE_INTENT)))
                    .order_by(nlu_turns.c.created_at.desc(), nlu_turns.c.id.desc())
                    .limit(limit)
                )
            )
            listed = {row.id for row in rows}
            for chunk in _chunks(sorted(unresolved - listed)):
                rows += conn.execute(select(nlu_turns).where(*filters, nlu_turns.c.id.in_(chunk))).all()
        rows = [row for row in rows if not is_pleasantry(row.text, row.intent)]
        rows.sort(key=lambda r: (r.created_at, r.id), reverse=True)
        return [_item(row) for row in rows[:limit]]

    def assign(self, item_ids: list[int], intent: str, by: str) -> int:
        """Assign new or assigned messages to a domain intent; returns how many changed."""
        ids = _ids(item_ids)
        if intent not in self.intents():
            raise InsightsError(f"unknown intent {intent!r}: choose one of the intents of domain.yml")
        return self._update(ids, ("new", "assigned"), _decision("assigned", intent, by))

    def dismiss(self, item_ids: list[int], by: str) -> int:
        """Set new or assigned messages aside (not training material); returns how many changed."""
        return self._update(_ids(item_ids), ("new", "assigned"), _decision("dismissed", None, by))

    def needs_content(self, item_ids: list[int], by: str) -> int:
        """No intent fits new or assigned messages: the bot needs a new intent or help-centre
        article for them (listed with status ``needs_content``); returns how many changed."""
        return self._update(_ids(item_ids), ("new", "assigned"), _decision("needs_content", None, by))

    def reopen(self, item_ids: list[int], by: str) -> int:
        """Put assigned, dismissed or needs-content messages back to new (an editor's mistake,
        or the content now exists); exported ones stay."""
        statuses = ("assigned", "dismissed", "needs_content")
        return self._update(_ids(item_ids), statuses, _decision("new", None, by))

    def _update(self, ids: list[int], statuses: tuple[str, ...], values: dict[str, Any]) -> int:
        changed = 0
        with self.engine.begin() as conn:
            for chunk in _chunks(ids):
                result = conn.execute(
                    update(nlu_turns)
                    .where(nlu_turns.c.id.in_(chunk), nlu_turns.c.status.in_(statuses))
                    .values(**values)
                )
                changed += result.rowcount
        return changed

    # -- export --------------------------------------------------------------------------------
    def pending_exports(self, language: str | None = None) -> list[TrafficItem]:
        """Assigned messages not exported yet, oldest first."""
        query = select(nlu_turns).where(nlu_turns.c.status == "assigned")
        if language is not None:
            query = query.where(nlu_turns.c.language == language)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(nlu_turns.c.id)).all()
        return [_item(row) for row in rows]

    def mark_exported(self, item_ids: list[int]) -> int:
        """Mark assigned messages as exported (they are in the training data now)."""
        if not item_ids:
            return 0
        return self._update(list(item_ids), ("assigned",), {"status": "exported", "exported_at": utcnow()})

    def training_examples(self, items: Iterable[TrafficItem]) -> dict[str, dict[str, list[str]]]:
        """language -> intent -> example texts of ``items``, without the examples the project's
        training data already has under that intent (or that appear twice)."""
        from bot.core.project import Project, normalise

        project = Project(self.project_root)
        known: dict[str, set[tuple[str, str]]] = {}
        found: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for item in items:
            if item.assigned_intent is None:
                continue
            if item.language not in known:
                examples = project.examples(item.language)
                known[item.language] = {(e.intent, normalise(e.value)) for e in examples}
            text = example_text(item.text)
            key = (item.assigned_intent, normalise(text))
            if text and key not in known[item.language]:
                known[item.language].add(key)
                found[item.language][item.assigned_intent].append(text)
        return {lang: dict(by_intent) for lang, by_intent in found.items()}

    def export(self, *, language: str | None = None, mark: bool = True) -> dict[str, str]:
        """language -> Rasa NLU YAML of the assigned messages not exported yet.

        With ``mark`` they become ``exported``, so the next export holds only newer ones.
        Messages the training data already has under their intent are left out (and marked).
        """
        items = self.pending_exports(language)
        files = {lang: nlu_yaml(examples) for lang, examples in self.training_examples(items).items()}
        if mark:
            self.mark_exported([item.id for item in items])
        return dict(sorted(files.items()))


def _decision(status: str, intent: str | None, by: str) -> dict[str, Any]:
    return {"status": status, "assigned_intent": intent, "assigned_by": by[:64], "assigned_at": utcnow()}


def _ids(item_ids: Iterable[Any]) -> list[int]:
    ids = sorted({int(i) for i in item_ids or []})
    if not ids:
        raise InsightsError("no messages selected")
    return ids


def _unresolved_turn_ids(conn: Connection, since: datetime | None) -> set[int]:
    """The last UNRESOLVED_TURNS customer turns before each escalation that says the bot failed."""
    query = select(handoffs.c.conversation_id, handoffs.c.created_at).where(
        handoffs.c.reason.in_(UNRESOLVED_HANDOFFS)
    )
    if since is not None:
        query = query.where(handoffs.c.created_at >= since)
    escalations = conn.execute(query).all()
    conversation_ids = sorted({row.conversation_id for row in escalations})
    turns: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
    for chunk in _chunks(conversation_ids):
        rows = conn.execute(
            select(nlu_turns.c.conversation_id, nlu_turns.c.created_at, nlu_turns.c.id).where(
                nlu_turns.c.conversation_id.in_(chunk)
            )
        )
        for row in rows:
            turns[row.conversation_id].append((row.created_at, row.id))
    found: set[int] = set()
    for escalation in escalations:
        before = sorted(t for t in turns.get(escalation.conversation_id, []) if t[0] < escalation.created_at)
        found |= {turn_id for _at, turn_id in before[-UNRESOLVED_TURNS:]}
    return found


def _item(row: Any) -> TrafficItem:
    """A message for an editor. Other intents than the fallback and out_of_scope only reach an
    editor as the last turns before a failed conversation's escalation: ``unresolved``."""
    if row.topic == NO_ARTICLE:
        reason = NO_ARTICLE
    elif row.intent == FALLBACK_INTENT:
        reason = "not_understood"
    elif row.intent == OUT_OF_SCOPE_INTENT:
        reason = "out_of_scope"
    else:
        reason = "unresolved"
    return TrafficItem(
        id=row.id,
        conversation_id=row.conversation_id,
        channel=row.channel,
        language=row.language,
        text=row.text,
        intent=row.intent,
        confidence=row.confidence,
        suggestion=row.suggestion,
        reason=reason,
        created_at=row.created_at,
        status=row.status,
        assigned_intent=row.assigned_intent,
        suggestion_confidence=row.suggestion_confidence,
    )


# -- grouping ---------------------------------------------------------------------------------

_NOT_WORD = re.compile(r"[\W_]+")
_DIGITS = re.compile(r"\d+")


def _normal(text: str) -> str:
    """What makes two messages the same question: lowercase words, any number as ``0``
    (amounts, dates and masked digits vary, the question does not), no punctuation."""
    words = _NOT_WORD.sub(" ", _DIGITS.sub("0", text.casefold())).strip()
    return words or text.strip().casefold()


def group_items(items: Sequence[TrafficItem], threshold: float = SIMILARITY) -> list[TrafficGroup]:
    """Groups of similar messages per language, biggest first (then newest). Messages no
    help-centre article matched are grouped apart: the content an editor could write next."""
    by_language: dict[tuple[str, bool], list[TrafficItem]] = defaultdict(list)
    for item in items:
        by_language[(item.language, item.reason == NO_ARTICLE)].append(item)
    groups = []
    for (language, _no_article), members in by_language.items():
        texts = sorted({_normal(item.text) for item in members})
        weights = Counter(_normal(item.text) for item in members)
        clusters, centrality = cluster_texts(texts, threshold, [weights[t] for t in texts])
        index = {text: n for n, text in enumerate(texts)}
        for cluster in clusters:
            chosen = set(cluster)
            group_items_ = [item for item in members if index[_normal(item.text)] in chosen]
            central = max(cluster, key=lambda n: (centrality[n], weights[texts[n]], -n))
            groups.append(_group(language, group_items_, texts[central]))
    return sorted(groups, key=lambda g: (-len(g.items), -g.items[0].created_at.timestamp(), g.key))


def _group(language: str, items: list[TrafficItem], central: str) -> TrafficGroup:
    items = sorted(items, key=lambda i: (i.created_at, i.id), reverse=True)
    label = next(item.text for item in items if _normal(item.text) == central)
    suggestions = Counter(item.suggestion for item in items if item.suggestion)
    suggestion = min(suggestions, key=lambda s: (-suggestions[s], s)) if suggestions else None
    sure = [i.suggestion_confidence for i in items if i.suggestion == suggestion and i.suggestion_confidence]
    return TrafficGroup(
        key=f"{language}-{min(item.id for item in items)}",
        language=language,
        label=label,
        items=items,
        suggestion=suggestion,
        reasons=dict(sorted(Counter(item.reason for item in items).items())),
        suggestion_confidence=round(sum(sure) / len(sure), 3) if sure and suggestion else None,
    )


def cluster_texts(
    texts: Sequence[str],
    threshold: float = SIMILARITY,
    weights: Sequence[int] | None = None,
    linkage_limit: int = LINKAGE_LIMIT,
) -> tuple[list[list[int]], list[float]]:
    """Clusters of similar texts (lists of indexes, in order) and each text's centrality (its
    weighted mean similarity to the other texts of its cluster).

    TF-IDF over character n-grams within word boundaries copes with typos and missing accents;
    average linkage cut at ``1 - threshold`` cosine distance, deterministic. Above
    ``linkage_limit`` texts (its matrix grows with the square), a greedy pass: each text joins
    the first earlier leader at least ``threshold`` similar, else leads a new cluster.
    """
    n = len(texts)
    weights = list(weights) if weights is not None else [1] * n
    if n <= 1:
        return [list(range(n))] if n else [], [1.0] * n
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    try:
        vectorizer = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(2, 4), strip_accents="unicode", dtype=np.float32
        )
        matrix = vectorizer.fit_transform(texts)
    except ValueError:  # no n-gram at all (texts of one character): every text on its own
        return [[i] for i in range(n)], [1.0] * n
    cluster = _greedy_labels if n > linkage_limit else _linkage_labels
    labels = cluster(matrix, threshold)
    clusters: dict[int, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        clusters[int(label)].append(i)
    ordered = sorted(clusters.values(), key=lambda members: members[0])
    return ordered, _centrality(matrix, ordered, np.asarray(weights, dtype=np.float32), n)


def _linkage_labels(matrix: Any, threshold: float) -> Any:
    import numpy as np
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    similarity = (matrix @ matrix.T).toarray()  # rows are L2-normalised: dot product = cosine
    distance = 1.0 - np.clip(similarity, 0.0, 1.0)
    np.fill_diagonal(distance, 0.0)
    tree = linkage(squareform(distance, checks=False), method="average")
    return fcluster(tree, t=1.0 - threshold, criterion="distance")


def _greedy_labels(matrix: Any, threshold: float, block: int = 512) -> Any:
    """Leader clustering in blocks of rows: each row joins its most similar leader when that is
    at least ``threshold`` similar, else becomes a leader. Memory grows with the leaders only."""
    import numpy as np

    n = matrix.shape[0]
    labels = np.full(n, -1, dtype=np.int64)
    leaders: list[int] = []
    for start in range(0, n, block):
        stop = min(start + block, n)
        rows = matrix[start:stop]
        earlier = (rows @ matrix[leaders].T).toarray() if leaders else np.zeros((stop - start, 0))
        within = (rows @ rows.T).toarray()
        new: list[int] = []  # offsets of the leaders found in this block
        for offset in range(stop - start):
            candidates = np.concatenate([earlier[offset], within[offset, new]])
            best = int(np.argmax(candidates)) if len(candidates) else -1
            if best >= 0 and candidates[best] >= threshold:  # leaders are labelled 0, 1, 2...
                labels[start + offset] = best
                continue
            labels[start + offset] = len(leaders)
            leaders.append(start + offset)
            new.append(offset)
    return labels


def _centrality(matrix: Any, clusters: list[list[int]], weights: Any, n: int) -> list[float]:
    """Each text's similarity to the weighted mean of its cluster (its centroid)."""
    import numpy as np

    centrality = [1.0] * n
    for members in clusters:
        if len(members) < 2:
            continue
        sub = matrix[members]
        member_weights = weights[members]
        centroid = (sub.T @ member_weights) / max(float(member_weights.sum()), 1.0)
        scores = np.asarray(sub @ centroid).ravel()
        for index, score in zip(members, scores, strict=True):
            centrality[index] = float(np.round(score, 6))
    return centrality


# -- training data ----------------------------------------------------------------------------

_NON_PRINTABLE = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ANNOTATION_START = re.compile(r"\](?=[(\[{])")


def example_text(text: str) -> str:
    """A customer message as one line of a Rasa ``examples: |`` block: one line, printable
    characters only, and no ``[text](entity)`` Rasa would read as an entity annotation."""
    text = " ".join(_NON_PRINTABLE.sub(" ", text).split())
    return _ANNOTATION_START.sub("] ", text)


def nlu_yaml(examples: dict[str, list[str]]) -> str:
    """Rasa 3.x NLU training data: a block per intent (sorted), examples in the given order."""
    lines = ['version: "3.1"', "nlu:"]
    for intent in sorted(examples):
        lines += [f"- intent: {intent}", "  examples: |"]
        lines += [f"    - {text}" for text in examples[intent]]
    return "\n".join(lines) + "\n"
