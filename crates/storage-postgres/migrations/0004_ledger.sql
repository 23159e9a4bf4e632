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
CREATE INDEX ledger_balances_rank ON ledger_balances (workspace, kind, balance DESC, account);

CREATE TABLE ledger_rewards (
    workspace BIGINT NOT NULL,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    cost BIGINT NOT NULL CHECK (cost > 0),
    stock BIGINT CHECK (stock IS NULL OR stock >= 0),
    active BOOLEAN NOT NULL,
    PRIMARY KEY (workspace, code)
);

-- Scratch table for `qunzhu bench ledger`: the same shape as ledger_entries, no constraints.
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
