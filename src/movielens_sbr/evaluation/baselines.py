"""Non-neural baselines behind the evaluator's scorer interface (no Kedro imports)."""

from __future__ import annotations

import numpy as np

from movielens_sbr.data.session_arrays import SessionArrays


def item_counts(sessions: SessionArrays, n_items: int) -> np.ndarray:
    """How often each item occurs in the sessions."""
    return np.bincount(sessions.items, minlength=n_items).astype(np.float64)


class Popularity:
    """POP: every session gets the globally most frequent training items."""

    name = "pop"

    def __init__(self, train: SessionArrays, n_items: int):
        self.scores = item_counts(train, n_items).astype(np.float32)
        self.n_sessions = 0

    def start(self, n_sessions: int) -> None:
        self.n_sessions = n_sessions

    def step(self, items: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.scores, (len(items), len(self.scores)))


class Markov:
    """Item-to-item transitions: what followed the current item in training sessions.

    Items never seen after the current one all score 0; popularity, scaled below one
    transition, orders them instead of leaving a block of ties. The transition counts are
    a sparse matrix (at most one entry per training event), so 85k items need tens of MB,
    not the 29 GB of a dense ``[n_items, n_items]`` float32 matrix.
    """

    name = "markov"

    def __init__(self, train: SessionArrays, n_items: int):
        import scipy.sparse

        follows = np.ones(len(train.items), dtype=bool)
        follows[train.offsets[1:-1]] = False  # the first event of a session follows nothing
        follows[0] = False
        current = train.items[np.flatnonzero(follows) - 1].astype(np.int64)
        following = train.items[follows].astype(np.int64)
        # Duplicates are summed: entry (a, b) counts the transitions a -> b.
        self.transitions = scipy.sparse.csr_matrix(
            (np.ones(len(current)), (current, following)), shape=(n_items, n_items)
        )
        popularity = item_counts(train, n_items)
        self.tie_break = popularity / (popularity.max() + 1.0)

    @property
    def scores(self) -> np.ndarray:
        """Every item's score row, dense ``[n_items, n_items]``: for small catalogues only."""
        return self.step(np.arange(self.transitions.shape[0]))

    def start(self, n_sessions: int) -> None:
        pass

    def step(self, items: np.ndarray) -> np.ndarray:
        return (self.transitions[items].toarray() + self.tie_break).astype(np.float32)


# Session-based baselines (Ludewig & Jannach 2018, "Evaluation of session-based
# recommendation algorithms"; reference code: session-rec). They keep dense
# [n_items, n_items] or [n_train_sessions, n_items] float32 matrices: at the ML-1M scale
# of this project (~3.3k items, ~4.6k train sessions) that is 40-60 MB each. A catalogue
# of 100k items would need sparse matrices instead.


def _incidence(sessions: SessionArrays, n_items: int) -> np.ndarray:
    """Binary session-item matrix ``[n_sessions, n_items]`` (float32, 1 = item in session)."""
    matrix = np.zeros((sessions.n_sessions, n_items), dtype=np.float32)
    matrix[sessions.session_of_event(), sessions.items] = 1.0
    return matrix


def _tie_break(train: SessionArrays, n_items: int, below: float) -> np.ndarray:
    """Popularity scaled into [0, below): orders the items a model leaves at score 0."""
    popularity = item_counts(train, n_items)
    return (below * popularity / (popularity.max(initial=0.0) + 1.0)).astype(np.float32)


def _smallest_positive(matrix: np.ndarray) -> float:
    positive = matrix[matrix > 0]
    return float(positive.min()) if positive.size else 1.0


class SessionPopularity:
    """S-POP: items of the current session by their count in it, then global popularity.

    The popularity tie-break is scaled below one occurrence, so any item already in the
    session outranks every other. With the evaluator's ``exclude_seen`` (the default) the
    session's items are removed from the ranking, so S-POP then reduces to POP: this is
    expected on MovieLens, where a user rates a movie only once.
    """

    name = "spop"

    def __init__(self, train: SessionArrays, n_items: int):
        self.n_items = n_items
        self.popularity = _tie_break(train, n_items, below=1.0)
        self.counts = np.zeros((0, n_items), dtype=np.float32)

    def start(self, n_sessions: int) -> None:
        self.counts = np.zeros((n_sessions, self.n_items), dtype=np.float32)

    def step(self, items: np.ndarray) -> np.ndarray:
        active = self.counts[: len(items)]
        active[np.arange(len(items)), items] += 1.0
        return active + self.popularity


class SequentialRules:
    """SR: rules a -> b from a followed by b within ``steps`` events of a training session.

    Every pair (a at position i, b at position j) of one session with 0 < j - i <= steps
    adds 1 / (j - i) to rule a -> b (session-rec's "div" weighting; no rule pruning). The
    score of b is the rule weight from the current (last) item; popularity, scaled below
    the smallest nonzero weight, orders the items without a rule. The configured ``steps``
    (20 in conf/base; session-rec uses 10) is the best of {5, 10, 20, 50} on the ML-1M
    validation split (docs/evaluation.md, "Baselines").
    """

    name = "sr"

    def __init__(self, train: SessionArrays, n_items: int, *, steps: int):
        if steps < 1:
            raise ValueError(f"steps must be at least 1, got {steps}")
        session = train.session_of_event()
        items = train.items.astype(np.int64)
        keys, weights = [], []
        for distance in range(1, min(steps, max(len(items) - 1, 0)) + 1):
            same = session[:-distance] == session[distance:]  # the pair stays in one session
            keys.append(items[:-distance][same] * n_items + items[distance:][same])
            weights.append(np.full(int(same.sum()), 1.0 / distance))
        rules = np.bincount(
            np.concatenate(keys) if keys else np.zeros(0, dtype=np.int64),
            weights=np.concatenate(weights) if weights else None,
            minlength=n_items * n_items,
        ).reshape(n_items, n_items)
        self.rules = rules.astype(np.float32)
        self.scores = self.rules + _tie_break(train, n_items, _smallest_positive(rules))

    def start(self, n_sessions: int) -> None:
        pass

    def step(self, items: np.ndarray) -> np.ndarray:
        return self.scores[items]


class ItemKNN:
    """Item-kNN: cosine similarity of items over the training sessions that contain them.

    With ``n_i`` the number of sessions holding item i and ``C_ij`` those holding both,
    ``sim_ij = C_ij / sqrt(n_i n_j)`` (binary incidence, so repeats do not count; no
    self-similarity). Each row keeps its ``neighbors`` largest similarities (None keeps
    all). The score is the similarity row of the current item; popularity, scaled below
    the smallest kept similarity, orders the rest. The configured 50 neighbours are the best
    of {20, 50, 100, all} on the ML-1M validation split (docs/evaluation.md, "Baselines").
    """

    name = "iknn"

    def __init__(self, train: SessionArrays, n_items: int, *, neighbors: int | None):
        incidence = _incidence(train, n_items)
        cooccurrence = incidence.T @ incidence  # exact: float32 counts stay far below 2**24
        support = np.sqrt(np.diag(cooccurrence).astype(np.float64))
        norm = np.outer(support, support)
        similarity = np.divide(cooccurrence, norm, out=np.zeros_like(norm), where=norm > 0)
        similarity = similarity.astype(np.float32)
        np.fill_diagonal(similarity, 0.0)
        if neighbors is not None and neighbors < n_items:
            if neighbors < 1:
                raise ValueError(f"neighbors must be at least 1 or None, got {neighbors}")
            dropped = np.argpartition(-similarity, neighbors - 1, axis=1)[:, neighbors:]
            np.put_along_axis(similarity, dropped, 0.0, axis=1)
        self.similarity = similarity
        self.scores = similarity + _tie_break(train, n_items, _smallest_positive(similarity))

    def start(self, n_sessions: int) -> None:
        pass

    def step(self, items: np.ndarray) -> np.ndarray:
        return self.scores[items]


class SessionKNN:
    """SKNN: score items by the training sessions most similar to the current session.

    The current session (all its items so far, as a binary vector) is compared with every
    training session by cosine similarity. Among the training sessions sharing at least
    one item with it, the ``sample_size`` most recent are candidates (None: all), and the
    ``k`` most similar candidates are the neighbours. Item i scores
    ``sum over neighbours of sim * 1[i in neighbour]``; popularity, scaled below the
    row's smallest positive score, orders the items no neighbour holds.

    Simplifications against session-rec: "most recent" is the largest ``recency`` value
    (for example the session start time); without it, the latest session in the train
    order (highest index). In this project train sessions are ordered by user, not by
    time, so pass start times to get the paper's recency sampling. Similarities are
    cosine on the whole session (no idf, no similarity caching).

    The configured options (k=50, no sampling) are the best on the ML-1M validation split of k in
    {20, 50, 100} x sample_size in {500, 1000, all}, for SKNN and V-SKNN alike
    (docs/evaluation.md, "Baselines"): with only ~4.6k training sessions, sampling
    (session-rec: 500 or 1000) only loses neighbours, so ``recency`` does not matter with
    these options.

    Vectorisation: per active session the dot products with all training sessions are
    kept in a ``[n_sessions, n_train]`` array and updated by one incidence column per
    event; the neighbour scores gather the neighbours' incidence rows.
    """

    name = "sknn"
    recency_weighted = False

    def __init__(
        self,
        train: SessionArrays,
        n_items: int,
        *,
        k: int,
        sample_size: int | None,
        recency: np.ndarray | None = None,
    ):
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        if sample_size is not None and sample_size < 1:
            raise ValueError(f"sample_size must be at least 1 or None, got {sample_size}")
        if recency is None:
            recency = np.arange(train.n_sessions)
        if len(recency) != train.n_sessions:
            raise ValueError(f"recency needs one value per train session ({train.n_sessions})")
        # Train sessions most recent first, so "the m most recent candidates" is a prefix.
        order = np.argsort(-np.asarray(recency), kind="stable")
        incidence = _incidence(train, n_items)[order]
        self.incidence = incidence.astype(np.uint8)  # gathered per step: 4x less to copy
        self.columns = np.ascontiguousarray(incidence.T)  # [n_items, n_train]
        self.train_norm = np.sqrt(incidence.sum(axis=1))
        self.n_items = n_items
        self.k = min(k, train.n_sessions)
        self.sample_size = sample_size
        self.popularity = _tie_break(train, n_items, below=1.0)
        self.start(0)

    def start(self, n_sessions: int) -> None:
        self.weight = np.zeros((n_sessions, self.n_items), dtype=np.float32)
        self.dot = np.zeros((n_sessions, len(self.incidence)), dtype=np.float32)
        self.norm_squared = np.zeros(n_sessions, dtype=np.float64)
        self.length = np.zeros(n_sessions, dtype=np.int64)

    def _update(self, items: np.ndarray) -> None:
        n = len(items)
        rows = np.arange(n)
        self.length[:n] += 1
        new = self.length[:n].astype(np.float32) if self.recency_weighted else np.ones(n, "f4")
        old = self.weight[rows, items]
        self.weight[rows, items] = new
        self.dot[:n] += (new - old)[:, None] * self.columns[items]
        self.norm_squared[:n] += new.astype(np.float64) ** 2 - old.astype(np.float64) ** 2

    def step(self, items: np.ndarray) -> np.ndarray:
        self._update(items)
        n = len(items)
        dot = self.dot[:n]
        candidate = dot > 0
        if self.sample_size is not None and self.sample_size < dot.shape[1]:
            candidate &= np.cumsum(candidate, axis=1) <= self.sample_size
        norm = np.sqrt(self.norm_squared[:n]).astype(np.float32)[:, None] * self.train_norm
        similarity = np.where(candidate, dot / np.where(norm > 0, norm, 1), np.float32(0))
        if self.k < similarity.shape[1]:
            neighbours = np.argpartition(-similarity, self.k - 1, axis=1)[:, : self.k]
        else:
            neighbours = np.broadcast_to(np.arange(similarity.shape[1]), similarity.shape)
        weights = np.take_along_axis(similarity, neighbours, axis=1)
        # Weighted sum of the neighbours' incidence rows, a few sessions at a time so that
        # the gathered rows stay in cache (faster than one [n, n_train] @ [n_train, n_items]
        # product, and single-threaded, so robust when other jobs share the cores).
        scores = np.empty((n, self.n_items), dtype=np.float32)
        chunk = max(1, 2**20 // (self.k * self.n_items))
        for begin in range(0, n, chunk):
            rows = slice(begin, begin + chunk)
            gathered = self.incidence[neighbours[rows]].astype(np.float32)  # [chunk, k, items]
            scores[rows] = np.matmul(weights[rows, None, :], gathered)[:, 0]
        smallest = np.where(scores > 0, scores, np.inf).min(axis=1, keepdims=True)
        smallest = np.where(np.isfinite(smallest), smallest, 1.0)
        return scores + smallest * self.popularity


class VSKNN(SessionKNN):
    """V-SKNN: SKNN where the current session's recent items weigh more (linear decay).

    The item at position p (1-based) of a session of length L so far weighs p / L, so the
    last item weighs 1 and the first 1 / L (session-rec's default "div" weighting, i /
    length); an item seen twice keeps its latest position.
    Cosine similarity with the binary training sessions uses these weights; candidates,
    neighbours and item scores are as in SKNN (session-rec's V-SKNN also offers other
    decays, dot-product similarity and neighbour-side weighting, not implemented here).
    The 1 / L factor cancels in the cosine, so the state keeps the positions p.
    """

    name = "vsknn"
    recency_weighted = True


class ALS:
    """Implicit-feedback ALS (Hu et al. 2008) from the ``implicit`` library; ignores order.

    Fitted by ``implicit`` on the binary train session x item matrix. In its convention an
    observed entry carries confidence ``alpha`` and every other entry confidence 1 with
    preference 0. At every step the current session prefix is folded in as a new user:
    its factors solve ``(Y'Y + (alpha - 1) sum_i y_i y_i' + reg I) x = alpha sum_i y_i``
    over the prefix items i with the item factors Y fixed, exactly what
    ``recalculate_user`` computes (a test checks the two agree). Here the system is kept
    per active session and updated by one rank-one term per event, and all sessions of a
    step are solved in one batched ``numpy.linalg.solve`` (with ``alpha = 1`` the matrix
    never changes and one precomputed inverse serves every prefix), instead of rebuilding
    every prefix from scratch at every step. An item's score is the dot product with x.
    It answers whether modelling the order beats plain collaborative filtering.
    """

    name = "als"

    def __init__(
        self,
        train: SessionArrays,
        n_items: int,
        *,
        factors: int,
        regularization: float,
        alpha: float,
        iterations: int,
        seed: int,
    ):
        import scipy.sparse
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        self.n_items = n_items
        self.alpha = float(alpha)
        incidence = scipy.sparse.csr_matrix(
            (
                np.ones(len(train.items), dtype=np.float32),
                (train.session_of_event(), train.items),
            ),
            shape=(train.n_sessions, n_items),
        )
        incidence.sum_duplicates()
        incidence.data[:] = 1.0
        # implicit asks for a single-threaded BLAS while its own threads fit.
        with threadpool_limits(1, "blas"):
            self.model = AlternatingLeastSquares(
                factors=factors,
                regularization=regularization,
                alpha=alpha,
                iterations=iterations,
                random_state=seed,
            )
            self.model.fit(incidence, show_progress=False)
        self.item_factors = np.ascontiguousarray(self.model.item_factors, dtype=np.float32)
        y = self.item_factors.astype(np.float64)
        self.base = y.T @ y + regularization * np.eye(y.shape[1])
        self.base_inverse = np.linalg.inv(self.base)
        self.start(0)

    def start(self, n_sessions: int) -> None:
        dim = self.base.shape[0]
        self.seen = np.zeros((n_sessions, self.n_items), dtype=bool)
        self.rhs = np.zeros((n_sessions, dim))
        self.system = (
            None if self.alpha == 1.0 else np.broadcast_to(self.base, (n_sessions, dim, dim)).copy()
        )

    def step(self, items: np.ndarray) -> np.ndarray:
        n = len(items)
        rows = np.arange(n)
        new = ~self.seen[rows, items]  # an item already in the prefix counts once
        self.seen[rows, items] = True
        y = self.item_factors[items].astype(np.float64) * new[:, None]
        self.rhs[:n] += self.alpha * y
        if self.system is None:
            user = self.rhs[:n] @ self.base_inverse  # symmetric inverse
        else:
            self.system[:n] += (self.alpha - 1.0) * y[:, :, None] * y[:, None, :]
            user = np.linalg.solve(self.system[:n], self.rhs[:n, :, None])[:, :, 0]
        return user.astype(np.float32) @ self.item_factors.T
