"""The SQL statements of the request path, built once: building and keying a statement per call costs more than
running it on SQLite. ``Store`` binds their ``b_*`` parameters."""

from __future__ import annotations

from sqlalchemy import bindparam, insert, select, update

from warmstart.store import schema as S

INSERT_EVENT = insert(S.events)
SET_REWARD = (update(S.events)
              .where(S.events.c.event_id == bindparam("b_event"), S.events.c.reward.is_(None))
              .values(reward=bindparam("b_reward"), rewarded_at=bindparam("b_at"),
                      reward_default=bindparam("b_default"))
              .returning(*S.events.c))
GET_BELIEF = select(S.beliefs.c.state, S.beliefs.c.version, S.beliefs.c.population_version).where(
    S.beliefs.c.user_id == bindparam("b_user"))
INSERT_BELIEF = insert(S.beliefs)
PUT_BELIEF = (update(S.beliefs)
              .where(S.beliefs.c.user_id == bindparam("b_user"), S.beliefs.c.version == bindparam("b_version"))
              .values(state=bindparam("b_state"), population_version=bindparam("b_population"),
                      n_events=bindparam("b_n"), version=bindparam("b_new_version"), updated_at=bindparam("b_at")))
PUT_BELIEF_IF_SAME = PUT_BELIEF.where(S.beliefs.c.state == bindparam("b_old_state"))
REWARD_OF = select(S.events.c.reward).where(S.events.c.event_id == bindparam("b_event"))
_OWN = S.beliefs.c.user_id == bindparam("b_user")
USER_STATE = select(
    select(S.consent.c.opted_out).where(S.consent.c.user_id == bindparam("b_user")).scalar_subquery(),
    *(select(col).where(_OWN).scalar_subquery()
      for col in (S.beliefs.c.state, S.beliefs.c.version, S.beliefs.c.population_version)))
