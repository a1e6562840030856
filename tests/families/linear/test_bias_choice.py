"""The item bias's penalty chosen by the first items it ranks (families/linear/bias_choice.py)."""

from __future__ import annotations

import numpy as np
import pytest

from warmstart.data.events import EventData
from warmstart.families.linear.bias_choice import choose_bias_reg, top_reward
from warmstart.families.linear.item_features import ItemFeatureConfig
from warmstart.families.linear.space import SMALL_ITEMS, Space, SpaceConfig, choose_space, fit_chosen_space


def _lucky_niche_log(seed: int = 0, n_users: int = 300) -> EventData:
    """Popular items (rated by many, liked 75% of the time) and many niche items, each rated by two or three
    users and liked 45% of the time: a niche item liked by everyone who rated it is a lucky draw."""
    rng = np.random.default_rng(seed)
    n_pop, n_niche = 30, 600
    p = np.concatenate([rng.uniform(0.65, 0.85, n_pop), np.full(n_niche, 0.45)])
    users, items = [], []
    for u in range(n_users):
        chosen = np.concatenate([rng.choice(n_pop, 12, replace=False),
                                 n_pop + rng.choice(n_niche, 4, replace=False)])
        users += [u] * chosen.size
        items += chosen.tolist()
    item = np.array(items)
    reward = (rng.random(item.size) < p[item]).astype(float)
    return EventData.from_rows([f"u{u}" for u in users], np.arange(item.size, dtype=float),
                               [f"i{i}" for i in item], reward)


def test_a_heavier_penalty_wins_where_lucky_niche_items_would_top_the_ranking() -> None:
    events = _lucky_niche_log()
    choice = choose_bias_reg(events, (0.3, 30.0), n_top=8, n_folds=5, base=ItemFeatureConfig(max_iter=30))
    assert choice.chosen == 30.0
    # the light penalty puts niche items liked by their two raters first: clearly less liked
    assert choice.scores[30.0] - choice.scores[0.3] > 3 * choice.margin_se
    assert choice.n_users == events.n_users and choice.n_folds == 5


def test_top_reward_is_the_mean_of_each_users_best_ranked_items() -> None:
    rng = np.random.default_rng(1)
    n_items = 12
    users = np.repeat(np.arange(20), 6)
    items = np.concatenate([rng.choice(n_items, 6, replace=False) for _ in range(20)])
    reward = rng.random(users.size)
    events = EventData.from_rows([f"u{u:02d}" for u in users], np.arange(users.size, dtype=float),
                                 [f"i{i:02d}" for i in items], reward)
    score = rng.permutation(n_items).astype(float)  # distinct scores: no ties
    got = top_reward(events, score, n_top=3, seed=0)
    for u in range(events.n_users):
        rows = slice(events.starts[u], events.starts[u + 1])
        best = np.argsort(-score[events.item[rows]])[:3]
        assert got[u] == pytest.approx(events.reward[rows][best].mean())


def test_the_choice_is_every_spaces_penalty_and_is_recorded() -> None:
    events = _lucky_niche_log(n_users=120)
    cfg = SpaceConfig(n_factors=(0, 1), factor_reg=(1.0,), n_types=(1, 2), bias_reg=(0.3, 30.0),
                      item_features=SMALL_ITEMS)
    choice = choose_space(events, cfg, seed=0)
    assert choice.bias is not None and choice.bias.chosen == 30.0
    assert choice.config.item_features.bias_reg == 30.0
    assert choice.to_dict()["bias_penalty"]["chosen"] == 30.0
    population, _ = fit_chosen_space(events, cfg, seed=0)
    # the refit of ours uses the chosen penalty, not the configured item_features.bias_reg (1.0)
    assert population.diagnostics.item_features["factorisation"]["config"]["bias_reg"] == 30.0
    assert population.diagnostics.space["bias_penalty"]["chosen"] == 30.0


def test_no_candidates_keeps_the_configured_penalty() -> None:
    events = _lucky_niche_log(n_users=60)
    cfg = SpaceConfig(n_factors=(0,), n_types=(1,), bias_reg=None, item_features=SMALL_ITEMS)
    choice = choose_space(events, cfg, seed=0)
    assert choice.bias is None and choice.config.item_features.bias_reg == SMALL_ITEMS.bias_reg
    assert choice.to_dict()["bias_penalty"] is None
    assert choice.ours == Space()


@pytest.mark.parametrize(("field", "value", "message"), [
    ("bias_reg", (10.0, 0.0), "bias_reg: expected distinct positive penalties (at least one), got [10.0, 0.0]"),
    ("bias_reg", (), "bias_reg: expected distinct positive penalties (at least one), got []"),
    ("bias_folds", 1, "bias_folds: expected an integer >= 2, got 1"),
])
def test_bad_settings_name_the_field(field: str, value: object, message: str) -> None:
    with pytest.raises(ValueError) as err:
        SpaceConfig(**{field: value})  # type: ignore[arg-type]
    assert str(err.value) == message


def test_a_collapsed_space_is_shown_but_not_chosen() -> None:
    from warmstart.families.linear.space import SpaceScores, _pick

    def row(space: Space, score: float, collapsed: bool) -> SpaceScores:
        return SpaceScores(space=space, dim=2 + space.n_factors, mixture={1: score}, pooled=score,
                           from_scratch=score, collapsed=collapsed)

    spaces = [Space(), Space(n_factors=4, factor_reg=50.0)]
    values = [{(who, 1): np.full(5, s) + np.arange(5) for who in ("ours", "pooled", "from_scratch")}
              for s in (-6.4, -6.3)]
    table = [row(spaces[0], -6.4 + 2, False), row(spaces[1], -6.3 + 2, True)]
    chosen, margins = _pick(table, values, [1])
    assert {who: i for who, (i, _) in chosen.items()} == {"ours": 0, "pooled": 0, "from_scratch": 0}
    assert all(m is None for m in margins.values())  # nothing else could be chosen
    # when every space collapsed, the best of them is chosen as before
    chosen, _ = _pick([row(spaces[0], -4.4, True), table[1]], values, [1])
    assert chosen["ours"] == (1, 1)
    assert table[1].to_dict()["collapsed"] is True
