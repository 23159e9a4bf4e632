//! Lotteries as operators run them: open one (its seed's hash posted in the group at once), sell
//! chances for points through the ledger, draw after it closes, and read the standings.
//!
//! Chances count what a member did after the lottery opened, from the read models (present
//! invitees per inviter, check-in totals) minus the standing stored when it opened, plus points
//! spent on it; nothing replays the log. Every grant is keyed by the lottery and the winner, and
//! a draw interrupted after it was recorded is finished by drawing again, so a prize is paid once.

use chrono::{DateTime, Utc};
use qunzhu_domain::MemberId;
use qunzhu_domain::{Account, ActionKind, NewAction, NewEntry, Platform, Reason};
use qunzhu_growth::lottery::{
    self, ChanceRule, Entry, LotteryError, MemberFacts, Prize, PrizeTier,
};
use qunzhu_storage::{
    Baseline, Drawn, InviteFilter, Lottery, NewLottery, Posting, Purchase, StoreError, UserRole,
};
use rand::RngCore;
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;

use crate::{Actor, Ops, OpsError, Result};

/// More members than any group holds: the read models are asked for everyone.
const EVERYONE: usize = 1_000_000;

/// An operator's new lottery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateLottery {
    pub name: String,
    pub platform: Platform,
    pub chat: String,
    pub campaign: Option<String>,
    pub rules: Vec<ChanceRule>,
    pub prizes: Vec<PrizeTier>,
    pub pool: Option<String>,
    pub closes_at: DateTime<Utc>,
    /// The caller's idempotency key.
    pub request: String,
}

/// A lottery as the console and the API show it: the seed only once drawn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LotteryView {
    #[serde(flatten)]
    pub lottery: Lottery,
    pub seed: Option<String>,
    pub open: bool,
}

/// What a draw decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DrawOutcome {
    pub lottery: LotteryView,
    /// Winners with their tier name, in draw order.
    pub awarded: Vec<(String, String)>,
    /// False when this call finished or repeated an earlier draw.
    pub fresh: bool,
}

fn from_lottery(error: LotteryError) -> OpsError {
    match error {
        LotteryError::BadSpec { field, message } => OpsError::invalid(field, message),
        LotteryError::PoolCannotCover { .. } => OpsError::invalid("pool", error.to_string()),
        LotteryError::NotClosed { .. } | LotteryError::AlreadyDrawn => {
            OpsError::invalid("closes_at", error.to_string())
        }
        other => OpsError::invalid("lottery", other.to_string()),
    }
}

fn not_found(error: StoreError) -> OpsError {
    match error {
        StoreError::NotFound { .. } => OpsError::NotFound("lottery"),
        other => other.into(),
    }
}

fn request_id(request: &str) -> Result<&str> {
    let request = request.trim();
    if request.is_empty() || request.len() > 200 {
        return Err(OpsError::invalid(
            "request",
            "give a request id of 1 to 200 characters; a retried call with the same id changes nothing",
        ));
    }
    Ok(request)
}

/// The account points spent on a lottery go to.
pub fn lottery_account(id: i64) -> Account {
    Account::Campaign {
        name: format!("lottery:{id}"),
    }
}

fn say(
    lottery: &Lottery,
    key: String,
    text: String,
    mentions: Vec<String>,
    now: DateTime<Utc>,
    workspace: qunzhu_domain::WorkspaceId,
) -> NewAction {
    NewAction {
        workspace,
        platform: lottery.body.platform,
        chat: lottery.body.chat.clone(),
        key,
        kind: ActionKind::SendMessage {
            text,
            html: None,
            mentions,
            reply_to: None,
        },
        created_at: now,
        not_before: now,
        expires_at: None,
        dry_run: false,
        origin: qunzhu_domain::ActionOrigin::Lottery(lottery.id),
        cause: None,
    }
}

impl Ops {
    /// `NotFound` unless the group is one of the caller's workspace.
    pub(crate) async fn known_group(
        &self,
        who: &Actor,
        platform: Platform,
        chat: &str,
    ) -> Result<()> {
        let known = self
            .store
            .groups(who.workspace)
            .await?
            .iter()
            .any(|summary| summary.group.platform == platform && summary.group.chat == chat);
        if known {
            Ok(())
        } else {
            Err(OpsError::NotFound("group"))
        }
    }

    fn view(&self, lottery: Lottery) -> LotteryView {
        LotteryView {
            seed: lottery.revealed_seed().map(str::to_string),
            open: lottery.drawn.is_none() && self.clock.now() < lottery.body.closes_at,
            lottery,
        }
    }

    /// Invites and check-ins per member of the lottery's group now, from the read models.
    async fn standing_now(
        &self,
        who: &Actor,
        platform: Platform,
        chat: &str,
        campaign: Option<&str>,
    ) -> Result<BTreeMap<String, (u32, u32)>> {
        let mut out: BTreeMap<String, (u32, u32)> = BTreeMap::new();
        let filter = InviteFilter {
            chat: Some(chat.to_string()),
            campaign: campaign.map(str::to_string),
        };
        for count in self
            .store
            .invite_counts(who.workspace, &filter, EVERYONE)
            .await?
        {
            if count.platform == platform {
                out.entry(count.inviter).or_default().0 =
                    u32::try_from(count.present).unwrap_or(u32::MAX);
            }
        }
        let today = self.clock.now().date_naive();
        for row in self
            .store
            .leaderboard(who.workspace, platform, chat, today, EVERYONE)
            .await?
        {
            out.entry(row.member).or_default().1 = row.total;
        }
        Ok(out)
    }

    /// Everyone's chances as of now: what the draw would see.
    pub async fn lottery_entries(&self, who: &Actor, id: i64) -> Result<Vec<Entry>> {
        who.require(UserRole::Viewer)?;
        let stored = self
            .store
            .lottery(who.workspace, id)
            .await
            .map_err(not_found)?;
        if let Some(drawn) = &stored.drawn {
            return Ok(drawn.entries.clone());
        }
        self.entries_of(who, &stored).await
    }

    async fn entries_of(&self, who: &Actor, stored: &Lottery) -> Result<Vec<Entry>> {
        let body = &stored.body;
        let now = self
            .standing_now(who, body.platform, &body.chat, body.campaign.as_deref())
            .await?;
        let mut facts: BTreeMap<String, MemberFacts> = BTreeMap::new();
        for (member, (invites, check_ins)) in now {
            let before = stored.baseline_of(&member);
            facts.insert(
                member,
                MemberFacts {
                    invites: invites.saturating_sub(before.invites),
                    check_ins: check_ins.saturating_sub(before.check_ins),
                    points_spent: 0,
                },
            );
        }
        for (member, points) in self.store.points_spent(who.workspace, stored.id).await? {
            facts.entry(member).or_default().points_spent = points;
        }
        let entries: Vec<Entry> = facts
            .into_iter()
            .map(|(member, facts)| Entry {
                chances: lottery::chances(&body.rules, facts),
                member,
            })
            .collect();
        Ok(lottery::normalize(&entries))
    }

    pub async fn create_lottery(&self, who: &Actor, create: CreateLottery) -> Result<LotteryView> {
        who.require(UserRole::Operator)?;
        let request = request_id(&create.request)?;
        let name = create.name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(OpsError::invalid(
                "name",
                "give a name of 1 to 200 characters",
            ));
        }
        if create.chat.trim().is_empty() {
            return Err(OpsError::invalid(
                "chat",
                "name the group the lottery runs in",
            ));
        }
        if create.rules.is_empty() {
            return Err(OpsError::invalid(
                "rules",
                "give at least one way to earn chances (per invite, per check-in or per points)",
            ));
        }
        for (index, rule) in create.rules.iter().enumerate() {
            rule.validate(&format!("rules[{index}]"))
                .map_err(from_lottery)?;
        }
        self.known_group(who, create.platform, create.chat.trim())
            .await?;
        let now = self.clock.now();
        if create.closes_at <= now {
            return Err(OpsError::invalid(
                "closes_at",
                format!("must be in the future (now {now})"),
            ));
        }
        let pool = match &create.pool {
            Some(pool) if pool.trim().is_empty() => None,
            Some(pool) => Some(pool.trim().to_string()),
            None => None,
        };
        let available = match &pool {
            Some(name) => Some(
                self.store
                    .balance(who.workspace, &Account::Pool { name: name.clone() })
                    .await?,
            ),
            None => None,
        };
        lottery::check_prizes(&create.prizes, pool.as_deref().zip(available))
            .map_err(from_lottery)?;
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let seed = lottery::Seed::from_bytes(bytes);
        let baseline = self
            .standing_now(
                who,
                create.platform,
                &create.chat,
                create.campaign.as_deref(),
            )
            .await?
            .into_iter()
            .map(|(member, (invites, check_ins))| Baseline {
                member,
                invites,
                check_ins,
            })
            .collect();
        let stored = self
            .store
            .create_lottery(
                who.workspace,
                NewLottery {
                    key: qunzhu_domain::keys::lottery_request(request),
                    name: name.to_string(),
                    platform: create.platform,
                    chat: create.chat.trim().to_string(),
                    campaign: create.campaign.clone(),
                    rules: create.rules.clone(),
                    prizes: create.prizes.clone(),
                    pool,
                    commitment: seed.commitment(),
                    seed: seed.reveal(),
                    opens_at: now,
                    closes_at: create.closes_at,
                    baseline,
                },
            )
            .await?;
        let zone = self.store.workspace(who.workspace).await?.time_zone;
        let closes_local = stored
            .body
            .closes_at
            .with_timezone(&zone)
            .format("%Y-%m-%d %H:%M")
            .to_string();
        let text =
            lottery::commitment_text(&stored.body.name, &stored.body.commitment, &closes_local);
        let announce = say(
            &stored,
            qunzhu_domain::keys::lottery_commitment(stored.id),
            text,
            vec![],
            now,
            who.workspace,
        );
        // Posted before entries close, by construction: it is written with the lottery.
        if self.store.enqueue(vec![announce]).await? > 0 {
            self.audit(
                who,
                "lottery.create",
                &format!("lottery:{}", stored.id),
                json!({ "name": stored.body.name, "chat": stored.body.chat, "commitment": stored.body.commitment, "closes_at": stored.body.closes_at }),
            )
            .await?;
        }
        Ok(self.view(stored))
    }

    pub async fn lottery(&self, who: &Actor, id: i64) -> Result<LotteryView> {
        who.require(UserRole::Viewer)?;
        let stored = self
            .store
            .lottery(who.workspace, id)
            .await
            .map_err(not_found)?;
        Ok(self.view(stored))
    }

    pub async fn lotteries(&self, who: &Actor, limit: usize) -> Result<Vec<LotteryView>> {
        who.require(UserRole::Viewer)?;
        let all = self
            .store
            .lotteries(who.workspace, limit.clamp(1, 500))
            .await?;
        Ok(all.into_iter().map(|lottery| self.view(lottery)).collect())
    }

    /// A member spends points on chances (the shop or the console); the points move to the
    /// lottery's account through the ledger, refused if the member cannot cover them.
    pub async fn buy_lottery_chances(
        &self,
        who: &Actor,
        id: i64,
        platform: Platform,
        user: &str,
        points: i64,
        request: &str,
    ) -> Result<Posting> {
        who.require(UserRole::Operator)?;
        let request = request_id(request)?;
        let stored = self
            .store
            .lottery(who.workspace, id)
            .await
            .map_err(not_found)?;
        let now = self.clock.now();
        if stored.drawn.is_some() || now >= stored.body.closes_at {
            return Err(OpsError::invalid(
                "lottery",
                format!(
                    "lottery {id} closed at {}; no more chances",
                    stored.body.closes_at
                ),
            ));
        }
        if platform != stored.body.platform {
            return Err(OpsError::invalid(
                "platform",
                format!("the lottery runs on {}", stored.body.platform),
            ));
        }
        let per = stored.body.rules.iter().find_map(|rule| match rule {
            ChanceRule::Points { points } => Some(*points),
            _ => None,
        });
        let Some(per) = per else {
            return Err(OpsError::invalid(
                "points",
                "this lottery sells no chances for points",
            ));
        };
        if points < per || points % per != 0 || points > 1_000_000_000 {
            return Err(OpsError::invalid(
                "points",
                format!("spend a multiple of {per} points (one chance each), got {points}"),
            ));
        }
        match self
            .store
            .member(who.workspace, platform, &MemberId::from(user))
            .await
        {
            Err(StoreError::NotFound { .. }) => return Err(OpsError::NotFound("member")),
            other => {
                other?;
            }
        }
        let key = qunzhu_domain::keys::lottery_purchase(id, request);
        let entry = NewEntry {
            key: key.clone(),
            reason: Reason::Spend,
            cause: Some(format!("lottery:{id}")),
            from: Account::member(platform, user),
            to: lottery_account(id),
            amount: points,
            at: now,
            memo: format!("抽奖「{}」{} 次机会", stored.body.name, points / per),
            reverses: None,
        };
        let posting = self
            .store
            .post_entries(who.workspace, vec![entry])
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| OpsError::Internal("the ledger answered no posting".into()))?;
        if let Posting::Refused { error } = &posting {
            return Err(OpsError::invalid("points", error.to_string()));
        }
        // Under the ledger entry's key, so a retry after a crash here records it once.
        self.store
            .record_purchase(
                who.workspace,
                Purchase {
                    lottery: id,
                    key,
                    member: user.to_string(),
                    points,
                    at: now,
                },
            )
            .await?;
        if let Posting::Applied { .. } = &posting {
            self.audit(
                who,
                "lottery.buy",
                &format!("{platform}:{user}"),
                json!({ "lottery": id, "points": points }),
            )
            .await?;
        }
        Ok(posting)
    }

    /// Draws a closed lottery: before it closes is an error; a second call pays whatever an
    /// interrupted first one did not and changes nothing else.
    pub async fn draw_lottery(&self, who: &Actor, id: i64) -> Result<DrawOutcome> {
        who.require(UserRole::Operator)?;
        let stored = self
            .store
            .lottery(who.workspace, id)
            .await
            .map_err(not_found)?;
        let now = self.clock.now();
        let (stored, fresh) = match &stored.drawn {
            Some(_) => (stored, false),
            None => {
                lottery::check_draw(stored.body.closes_at, now, false).map_err(from_lottery)?;
                let entries = self.entries_of(who, &stored).await?;
                let seed = lottery::Seed::parse(&stored.body.seed).map_err(from_lottery)?;
                let winners = lottery::draw(
                    &seed,
                    &entries,
                    lottery::winners_wanted(&stored.body.prizes),
                );
                if let Some(pool) = &stored.body.pool {
                    let awarded = lottery::award(&stored.body.prizes, &winners);
                    let needed: i64 = awarded
                        .iter()
                        .map(|(_, tier)| match tier.prize {
                            Prize::Points { points } => points,
                            Prize::Coupon { .. } => 0,
                        })
                        .sum();
                    let available = self
                        .store
                        .balance(who.workspace, &Account::Pool { name: pool.clone() })
                        .await?;
                    if needed > available {
                        return Err(from_lottery(LotteryError::PoolCannotCover {
                            pool: pool.clone(),
                            needed,
                            available,
                        }));
                    }
                }
                self.store
                    .record_draw(
                        who.workspace,
                        id,
                        Drawn {
                            at: now,
                            entries,
                            winners,
                        },
                    )
                    .await?
            }
        };
        let Some(drawn) = stored.drawn.clone() else {
            return Err(OpsError::Internal("the draw was not recorded".into()));
        };
        let awarded = lottery::award(&stored.body.prizes, &drawn.winners);
        self.pay(who, &stored, &awarded, now).await?;
        let seed = lottery::Seed::parse(&stored.body.seed).map_err(from_lottery)?;
        let text = lottery::result_text(&stored.body.name, &seed, &awarded, drawn.entries.len());
        let mentions = drawn.winners.clone();
        self.store
            .enqueue(vec![say(
                &stored,
                qunzhu_domain::keys::lottery_result(id),
                text,
                mentions,
                now,
                who.workspace,
            )])
            .await?;
        if fresh {
            self.audit(
                who,
                "lottery.draw",
                &format!("lottery:{id}"),
                json!({ "winners": drawn.winners, "entrants": drawn.entries.len(), "seed": stored.body.seed }),
            )
            .await?;
        }
        let awarded = awarded
            .iter()
            .map(|(member, tier)| (member.clone(), tier.name.clone()))
            .collect();
        Ok(DrawOutcome {
            lottery: self.view(stored),
            awarded,
            fresh,
        })
    }

    /// Points from the pool (or issued) through the ledger, coupons through the ledger worker;
    /// each keyed by lottery and winner.
    async fn pay(
        &self,
        who: &Actor,
        stored: &Lottery,
        awarded: &[(String, &PrizeTier)],
        now: DateTime<Utc>,
    ) -> Result<()> {
        let platform = stored.body.platform;
        let mut entries = Vec::new();
        let mut coupons = Vec::new();
        for (member, tier) in awarded {
            let key = qunzhu_domain::keys::lottery_prize(stored.id, member);
            let memo = format!("抽奖「{}」{}", stored.body.name, tier.name);
            match &tier.prize {
                Prize::Points { points } => entries.push(NewEntry {
                    key,
                    reason: Reason::Lottery,
                    cause: Some(format!("lottery:{}", stored.id)),
                    from: match &stored.body.pool {
                        Some(name) => Account::Pool { name: name.clone() },
                        None => Account::Issuance,
                    },
                    to: Account::member(platform, member.clone()),
                    amount: *points,
                    at: now,
                    memo,
                    reverses: None,
                }),
                Prize::Coupon { offer, valid_days } => coupons.push(NewAction {
                    workspace: who.workspace,
                    platform,
                    chat: stored.body.chat.clone(),
                    key,
                    kind: ActionKind::IssueCoupon {
                        member: member.clone(),
                        offer: offer.clone(),
                        valid_days: *valid_days,
                        memo,
                    },
                    created_at: now,
                    not_before: now,
                    expires_at: None,
                    dry_run: false,
                    origin: qunzhu_domain::ActionOrigin::Lottery(stored.id),
                    cause: None,
                }),
            }
        }
        if !entries.is_empty() {
            for posting in self.store.post_entries(who.workspace, entries).await? {
                if let Posting::Refused { error } = posting {
                    return Err(OpsError::invalid("pool", error.to_string()));
                }
            }
        }
        if !coupons.is_empty() {
            self.store.enqueue(coupons).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::{Duration, TimeZone};
    use qunzhu_domain::{Clock, EventKind, FakeClock, InviteChange, InviteChannel, JoinVia};
    use qunzhu_storage::{IngestBatch, NewEvent, NewWorkspace, Store};

    use super::*;

    const ROOM: &str = "!room:x";

    async fn setup() -> (Ops, Arc<FakeClock>, Actor) {
        let (ops, clock, who) = setup_without_group().await;
        ops.store
            .ensure_group(who.workspace, Platform::Matrix, ROOM)
            .await
            .unwrap();
        (ops, clock, who)
    }

    async fn setup_without_group() -> (Ops, Arc<FakeClock>, Actor) {
        let store: Arc<dyn Store> = Arc::new(
            qunzhu_storage_sqlite::SqliteStore::open_in_memory().expect("in-memory SQLite"),
        );
        let now = Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap();
        let clock = Arc::new(FakeClock::new(now));
        let workspace = store
            .ensure_workspace(NewWorkspace {
                slug: "brand".into(),
                name: "Brand".into(),
                time_zone: chrono_tz::Asia::Shanghai,
            })
            .await
            .unwrap();
        let events = ["@a:x", "@b:x", "@c:x", "@d:x"]
            .iter()
            .map(|member| NewEvent {
                event: qunzhu_domain::Event {
                    workspace: workspace.id,
                    platform: Platform::Matrix,
                    key: format!("join-{member}"),
                    chat: ROOM.into(),
                    at: now,
                    kind: EventKind::MemberJoined {
                        member: member.to_string().into(),
                        display_name: None,
                        via: JoinVia::Direct,
                    },
                },
                day: now.date_naive(),
            })
            .collect();
        store
            .ingest(
                IngestBatch {
                    events,
                    cursor: None,
                },
                &mut |_| Vec::new(),
            )
            .await
            .unwrap();
        let ops = Ops::new(store, clock.clone());
        let who = Actor {
            workspace: workspace.id,
            name: qunzhu_domain::ActorName::User("ops".into()),
            role: UserRole::Operator,
        };
        (ops, clock, who)
    }

    fn invited(invitee: &str, inviter: &str, at: DateTime<Utc>) -> InviteChange {
        InviteChange::Joined {
            platform: Platform::Matrix,
            chat: ROOM.into(),
            invitee: invitee.into(),
            inviter: Some(inviter.into()),
            channel: InviteChannel::Invited,
            code: None,
            campaign: None,
            at,
        }
    }

    fn create(closes_at: DateTime<Utc>, pool: Option<&str>) -> CreateLottery {
        CreateLottery {
            name: "春季抽奖".into(),
            platform: Platform::Matrix,
            chat: ROOM.into(),
            campaign: None,
            rules: vec![
                ChanceRule::Invite { chances: 1 },
                ChanceRule::Points { points: 10 },
            ],
            prizes: vec![PrizeTier {
                name: "一等奖".into(),
                count: 2,
                prize: Prize::Points { points: 100 },
            }],
            pool: pool.map(str::to_string),
            closes_at,
            request: "r1".into(),
        }
    }

    async fn fund(ops: &Ops, who: &Actor, account: Account, points: i64, key: &str) {
        let posted = ops
            .store
            .post_entries(
                who.workspace,
                vec![NewEntry {
                    key: key.into(),
                    reason: Reason::Manual,
                    cause: None,
                    from: Account::Issuance,
                    to: account,
                    amount: points,
                    at: ops.clock.now(),
                    memo: String::new(),
                    reverses: None,
                }],
            )
            .await
            .unwrap();
        assert!(matches!(posted[0], Posting::Applied { .. }));
    }

    #[tokio::test]
    async fn a_lottery_commits_sells_chances_draws_after_close_and_pays_once() {
        let (ops, clock, who) = setup().await;
        let now = clock.now();
        let closes = now + Duration::hours(1);
        // An invite before the lottery opens earns nothing.
        ops.store
            .apply_invite_changes(who.workspace, vec![invited("@old:x", "@a:x", now)], 1)
            .await
            .unwrap();
        assert_eq!(
            ops.create_lottery(&who, create(closes, Some("spring")))
                .await
                .unwrap_err()
                .to_string(),
            "pool: the prize pool `spring` holds 0 points but the prizes need 200"
        );
        fund(
            &ops,
            &who,
            Account::Pool {
                name: "spring".into(),
            },
            200,
            "fund",
        )
        .await;
        let view = ops
            .create_lottery(&who, create(closes, Some("spring")))
            .await
            .unwrap();
        let again = ops
            .create_lottery(&who, create(closes, Some("spring")))
            .await
            .unwrap();
        assert_eq!(
            view.lottery.id, again.lottery.id,
            "one request id, one lottery"
        );
        assert_eq!(view.seed, None, "secret until drawn");
        assert!(view.open);
        let posts = ops
            .store
            .actions(who.workspace, &Default::default())
            .await
            .unwrap();
        let commit = posts
            .iter()
            .find(|action| action.key == format!("lottery:{}:commit", view.lottery.id))
            .expect("the commitment is posted when it opens");
        let ActionKind::SendMessage { text, .. } = &commit.kind else {
            panic!("a message")
        };
        assert!(text.contains(&view.lottery.body.commitment));

        let id = view.lottery.id;
        ops.store
            .apply_invite_changes(
                who.workspace,
                vec![invited("@n1:x", "@b:x", now), invited("@n2:x", "@b:x", now)],
                2,
            )
            .await
            .unwrap();
        fund(
            &ops,
            &who,
            Account::member(Platform::Matrix, "@c:x"),
            35,
            "c-points",
        )
        .await;
        ops.buy_lottery_chances(&who, id, Platform::Matrix, "@c:x", 30, "buy-1")
            .await
            .unwrap();
        ops.buy_lottery_chances(&who, id, Platform::Matrix, "@c:x", 30, "buy-1")
            .await
            .unwrap();
        assert_eq!(
            ops.buy_lottery_chances(&who, id, Platform::Matrix, "@c:x", 30, "buy-2")
                .await
                .unwrap_err()
                .to_string()
                .split(':')
                .next(),
            Some("points"),
            "5 points left cannot buy 30"
        );
        assert!(
            ops.buy_lottery_chances(&who, id, Platform::Matrix, "@c:x", 15, "buy-3")
                .await
                .is_err(),
            "not a multiple of 10"
        );
        let standing = ops.lottery_entries(&who, id).await.unwrap();
        assert_eq!(
            standing,
            vec![
                Entry {
                    member: "@b:x".into(),
                    chances: 2
                },
                Entry {
                    member: "@c:x".into(),
                    chances: 3
                },
            ],
            "a's invite before the opening does not count; a retried purchase counts once"
        );

        let early = ops.draw_lottery(&who, id).await.unwrap_err().to_string();
        assert!(
            early.starts_with("closes_at: the lottery closes at"),
            "{early}"
        );
        clock.advance(Duration::hours(1));
        let outcome = ops.draw_lottery(&who, id).await.unwrap();
        assert!(outcome.fresh);
        let seed = outcome.lottery.seed.clone().expect("revealed");
        let parsed = lottery::Seed::parse(&seed).unwrap();
        assert!(parsed.matches(&outcome.lottery.lottery.body.commitment));
        let winners: Vec<String> = outcome.awarded.iter().map(|(m, _)| m.clone()).collect();
        assert_eq!(
            winners,
            lottery::draw(&parsed, &standing, 2),
            "anyone can re-run it"
        );
        assert_eq!(winners.len(), 2);
        let second = ops.draw_lottery(&who, id).await.unwrap();
        assert!(!second.fresh);
        assert_eq!(second.awarded, outcome.awarded);
        for winner in &winners {
            let balance = ops
                .store
                .balance(
                    who.workspace,
                    &Account::member(Platform::Matrix, winner.clone()),
                )
                .await
                .unwrap();
            let spent = if winner == "@c:x" { 5 } else { 0 };
            assert_eq!(balance, 100 + spent, "{winner} paid once");
        }
        assert_eq!(
            ops.store
                .balance(
                    who.workspace,
                    &Account::Pool {
                        name: "spring".into()
                    }
                )
                .await
                .unwrap(),
            0
        );
        assert!(ops
            .buy_lottery_chances(&who, id, Platform::Matrix, "@c:x", 10, "late")
            .await
            .is_err());
        let verbs: Vec<String> = ops
            .store
            .audit_log(who.workspace, None, 50)
            .await
            .unwrap()
            .into_iter()
            .map(|entry| entry.action)
            .filter(|verb| verb.starts_with("lottery."))
            .collect();
        assert_eq!(verbs, ["lottery.draw", "lottery.buy", "lottery.create"]);
    }
}
