-- The points ledger: append-only entries, balances kept as a read model in the same transaction,
-- and the reward catalogue. Amounts are whole points.

CREATE TABLE ledger_entries (
    id BIGSERIAL PRIMARY KEY,
    workspace BIGINT NOT NULL,
    key TEXT NOT NULL,
    reason TEXT NOT NULL,
    cause TEXT,
    from_account TEXT NOT NULL,
    to_account TEXT NOT NULL,
    amount BIGINT NOT NULL CHECK (amount > 0),
    at BIGINT NOT NULL,
    memo TEXT NOT NULL,
    reverses TEXT,
    UNIQUE (workspace, key)
);
-- An entry is reversed at most once, whatever the reversal's key.
CREATE UNIQUE INDEX ledger_entries_reverses ON ledger_entries (workspace, reverses) WHERE reverses IS NOT NULL;
CREATE INDEX ledger_entries_from ON ledger_entries (workspace, from_account, id);
CREATE INDEX ledger_entries_to ON ledger_entries (workspace, to_account, id);

CREATE TABLE ledger_balances (
    workspace BIGINT NOT NULL,
    account TEXT NOT NULL,
    kind TEXT NOT NULL,
    balance BIGINT NOT NULL,
    PRIMARY KEY (workspace, account),
    CHECK (balance >= 0 OR kind = 'issuance')
);
-- No index on the balance itself: every posting moves balances, and keeping a rank index in step
-- would cost each of them an index update; a leaderboard sorts one workspace's members instead.

CREATE TABLE ledger_rewards (
    workspace BIGINT NOT NULL,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    cost BIGINT NOT NULL CHECK (cost > 0),
    stock BIGINT CHECK (stock IS NULL OR stock >= 0),
    active BOOLEAN NOT NULL,
    PRIMARY KEY (workspace, code)
);

-- Scratch table for `qunzhu bench ledger`: the same columns and indexes as ledger_entries, so the
-- benchmark's floor is a plain insert of the same rows and the ratio is the price of the checks and balances.
CREATE TABLE ledger_baseline (
    id BIGSERIAL PRIMARY KEY,
    workspace BIGINT NOT NULL,
    key TEXT NOT NULL,
    reason TEXT NOT NULL,
    cause TEXT,
    from_account TEXT NOT NULL,
    to_account TEXT NOT NULL,
    amount BIGINT NOT NULL,
    at BIGINT NOT NULL,
    memo TEXT NOT NULL,
    reverses TEXT
);
CREATE UNIQUE INDEX ledger_baseline_key ON ledger_baseline (workspace, key);
CREATE UNIQUE INDEX ledger_baseline_reverses ON ledger_baseline (workspace, reverses) WHERE reverses IS NOT NULL;
CREATE INDEX ledger_baseline_from ON ledger_baseline (workspace, from_account, id);
CREATE INDEX ledger_baseline_to ON ledger_baseline (workspace, to_account, id);
