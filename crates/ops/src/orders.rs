//! Orders the shop reports through the signed webhook, and what operators do with them: accept
//! an order (resolve the buyer, attribute it, log one `OrderPlaced` event with the 晒单 invite,
//! post commissions, record it once), enter campaign costs, read campaign ROI, name group owners
//! and read commission statements.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use qunzhu_domain::MemberId;
use qunzhu_domain::{
    local_day, Account, ActionKind, Event, EventKind, InviteChannel, NewAction, NewEntry, Platform,
    Reason, WorkspaceId,
};
use qunzhu_growth::attribution::{attribute, AttributionModel, Touch};
use qunzhu_growth::commission::{commissions, CommissionOrder, CommissionRule, Earner};
use qunzhu_growth::roi::{campaign_roi, CampaignFacts, CampaignRoi};
use qunzhu_storage::{
    CampaignCost, CommissionRow, IngestBatch, NewEvent, Order, OrderRecorded, StatementLine,
    StoreError, UserRole,
};
use serde_json::json;

use crate::{Actor, Ops, OpsError, Result};

/// How the shop names the buyer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Buyer {
    /// Their platform identity.
    Platform { platform: Platform, user: String },
    /// Their personal invite code (the member code the shop knows them by).
    Code(String),
}

/// An order as the webhook parsed it; `at` is when it was accepted (the injected clock).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingOrder {
    pub order_id: String,
    pub buyer: Buyer,
    pub amount_cents: i64,
    pub currency: String,
    pub items: Vec<String>,
    pub coupon: Option<String>,
    pub link_token: Option<String>,
    pub refund_of: Option<String>,
}

/// The 晒单 invitation: how long a post counts and what the bot says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShowcasePolicy {
    pub window: Duration,
    /// Sent in the group with the buyer mentioned; `{hashtag}` is filled.
    pub text: String,
    pub hashtag: String,
}

/// The operator's settings for orders (`[orders]` in the config).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrderPolicy {
    pub model: AttributionModel,
    pub showcase: Option<ShowcasePolicy>,
    pub commission_rules: Vec<CommissionRule>,
}

/// The log key of an order's event: one event per order id, whatever the delivery.
pub fn order_event_key(workspace: WorkspaceId, order_id: &str) -> String {
    format!("order:{}:{order_id}", workspace.0)
}

/// The outbox key of an order's 晒单 invitation: once per order.
pub fn showcase_invite_key(order_id: &str) -> String {
    qunzhu_domain::keys::showcase_invite(order_id)
}

impl Ops {
    /// Accepts an order once per order id. The order row is written last, so a delivery that
    /// failed half-way is completed by the shop's retry (every earlier step is idempotent).
    pub async fn accept_order(
        &self,
        workspace: WorkspaceId,
        incoming: IncomingOrder,
        policy: &OrderPolicy,
    ) -> Result<OrderRecorded> {
        if let Some(order) = self.stored_order(workspace, &incoming.order_id).await? {
            return Ok(OrderRecorded::Duplicate { order });
        }
        let at = self.clock.now();
        let (platform, member) = self.resolve_buyer(workspace, &incoming.buyer).await?;
        let mut order = Order {
            order_id: incoming.order_id.clone(),
            platform,
            member: member.clone(),
            amount_cents: incoming.amount_cents,
            currency: incoming.currency.clone(),
            items: incoming.items.clone(),
            coupon: incoming.coupon.clone(),
            link_token: incoming.link_token.clone(),
            refund_of: incoming.refund_of.clone(),
            at,
            chat: None,
            push: None,
            campaign: None,
            live_code: None,
            inviter: None,
            showcase_until: None,
            showcase_message: None,
            showcase_at: None,
        };
        let arrivals = self
            .store
            .member_arrivals(workspace, platform, &member)
            .await?;
        if let Some(original) = &incoming.refund_of {
            // A refund counts against whatever its order was credited to.
            let original = self.refunded_order(workspace, original, &order).await?;
            order.chat = original.chat;
            order.push = original.push;
            order.campaign = original.campaign;
            order.live_code = original.live_code;
            order.inviter = original.inviter;
        } else {
            let mut touches: Vec<Touch> = arrivals
                .iter()
                .map(|arrival| Touch {
                    at: arrival.joined_at,
                    chat: Some(arrival.chat.clone()),
                    push: None,
                    campaign: arrival.campaign.clone(),
                    live_code: arrival
                        .code
                        .clone()
                        .filter(|_| arrival.channel == InviteChannel::Link),
                    inviter: arrival.inviter.clone(),
                })
                .collect();
            if let Some(token) = &incoming.link_token {
                match self.store.link(token).await {
                    Ok(link) if link.workspace == workspace => touches.push(Touch {
                        // The shop says the buyer came through it for this purchase.
                        at,
                        chat: Some(link.chat),
                        push: Some(link.push),
                        ..Touch::default()
                    }),
                    // A token the shop kept from elsewhere still leaves the order valid.
                    Ok(_) | Err(StoreError::NotFound { .. }) => {
                        tracing::warn!(order = %order.order_id, token, "order names an unknown tracked-link token; not attributed to a push");
                    }
                    Err(error) => return Err(error.into()),
                }
            }
            let credited = attribute(policy.model, &touches, at);
            order.chat = credited.chat;
            order.push = credited.push;
            order.campaign = credited.campaign;
            order.live_code = credited.live_code;
            order.inviter = credited.inviter;
            order.showcase_until = policy
                .showcase
                .as_ref()
                .map(|showcase| at + showcase.window);
        }

        self.log_order(workspace, &order, &arrivals, policy).await?;
        self.post_commissions(workspace, &order, &policy.commission_rules)
            .await?;
        let recorded = self.store.record_order(workspace, order).await?;
        if let OrderRecorded::New { order } = &recorded {
            tracing::info!(order = %order.order_id, amount = order.amount_cents, chat = ?order.chat, push = ?order.push, campaign = ?order.campaign, "order accepted");
        }
        Ok(recorded)
    }

    async fn stored_order(&self, workspace: WorkspaceId, order_id: &str) -> Result<Option<Order>> {
        match self.store.order(workspace, order_id).await {
            Ok(order) => Ok(Some(order)),
            Err(StoreError::NotFound { .. }) => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    async fn resolve_buyer(
        &self,
        workspace: WorkspaceId,
        buyer: &Buyer,
    ) -> Result<(Platform, String)> {
        let (platform, user) = match buyer {
            Buyer::Platform { platform, user } => (*platform, user.clone()),
            Buyer::Code(code) => match self.store.invite_code(workspace, code).await {
                Ok(known) => (known.platform, known.member),
                Err(StoreError::NotFound { .. }) => return Err(OpsError::NotFound("member")),
                Err(error) => return Err(error.into()),
            },
        };
        match self
            .store
            .member(workspace, platform, &MemberId(user.clone()))
            .await
        {
            Ok(_) => Ok((platform, user)),
            Err(StoreError::NotFound { .. }) => Err(OpsError::NotFound("member")),
            Err(error) => Err(error.into()),
        }
    }

    async fn refunded_order(
        &self,
        workspace: WorkspaceId,
        original: &str,
        refund: &Order,
    ) -> Result<Order> {
        let original = self
            .stored_order(workspace, original)
            .await?
            .ok_or_else(|| {
                OpsError::invalid("refund_of", format!("no order `{original}` was recorded"))
            })?;
        if original.refund_of.is_some() {
            return Err(OpsError::invalid(
                "refund_of",
                format!("`{}` is itself a refund", original.order_id),
            ));
        }
        if (original.platform, original.member.as_str())
            != (refund.platform, refund.member.as_str())
        {
            return Err(OpsError::invalid(
                "member",
                format!("order `{}` was placed by another member", original.order_id),
            ));
        }
        if original.currency != refund.currency {
            return Err(OpsError::invalid(
                "currency",
                format!("order `{}` was in {}", original.order_id, original.currency),
            ));
        }
        Ok(original)
    }

    /// Logs the order as one `OrderPlaced` event; the 晒单 invitation is decided with it, in the
    /// same transaction, keyed by the order.
    async fn log_order(
        &self,
        workspace: WorkspaceId,
        order: &Order,
        arrivals: &[qunzhu_storage::Invite],
        policy: &OrderPolicy,
    ) -> Result<()> {
        let zone = self.store.workspace(workspace).await?.time_zone;
        let event = Event {
            workspace,
            platform: order.platform,
            key: order_event_key(workspace, &order.order_id),
            chat: order.chat.clone().unwrap_or_default(),
            at: order.at,
            kind: EventKind::OrderPlaced {
                order_id: order.order_id.clone(),
                member: order.member.clone().into(),
                amount_cents: order.amount_cents,
                currency: order.currency.clone(),
                items: order.items.clone(),
                coupon: order.coupon.clone(),
                link_token: order.link_token.clone(),
                refund_of: order.refund_of.clone(),
            },
        };
        // The invitation goes to the group the order is credited to, else the group the member
        // is still in that they joined last.
        let speak_in = order.chat.clone().or_else(|| {
            arrivals
                .iter()
                .rev()
                .find(|arrival| arrival.present)
                .map(|arrival| arrival.chat.clone())
        });
        let invite = match (&policy.showcase, speak_in, order.refund_of.is_none()) {
            (Some(showcase), Some(chat), true) => Some(NewAction {
                workspace,
                platform: order.platform,
                chat,
                key: showcase_invite_key(&order.order_id),
                kind: ActionKind::SendMessage {
                    text: showcase.text.replace("{hashtag}", &showcase.hashtag),
                    html: None,
                    mentions: vec![order.member.clone()],
                    reply_to: None,
                },
                created_at: order.at,
                not_before: order.at,
                expires_at: order.showcase_until,
                dry_run: false,
                origin: qunzhu_domain::ActionOrigin::OrdersShowcase,
                cause: Some(event.key.clone()),
            }),
            _ => None,
        };
        let batch = IngestBatch {
            events: vec![NewEvent {
                day: local_day(order.at, zone),
                event,
            }],
            cursor: None,
        };
        let mut decide = |_: &Event| invite.clone().into_iter().collect();
        self.store.ingest(batch, &mut decide).await?;
        Ok(())
    }

    /// Posts what the operator's rules pay on this order: once per (order, rule) in the ledger
    /// (one point per cent; a refund takes it back) and in the commissions table.
    async fn post_commissions(
        &self,
        workspace: WorkspaceId,
        order: &Order,
        rules: &[CommissionRule],
    ) -> Result<()> {
        if rules.is_empty() {
            return Ok(());
        }
        let earner = |member: String, (largest_group, referrals): (u64, u64)| Earner {
            member,
            largest_group,
            referrals,
        };
        let referrer = match &order.inviter {
            Some(inviter) => Some(earner(
                inviter.clone(),
                self.store
                    .earner_facts(workspace, order.platform, inviter)
                    .await?,
            )),
            None => None,
        };
        let owner = match &order.chat {
            Some(chat) => {
                self.store
                    .group_owner(workspace, order.platform, chat)
                    .await?
            }
            None => None,
        };
        let group_owner = match owner {
            Some(owner) => Some(earner(
                owner.clone(),
                self.store
                    .earner_facts(workspace, order.platform, &owner)
                    .await?,
            )),
            None => None,
        };
        let earned = commissions(
            rules,
            &CommissionOrder {
                order_id: order.order_id.clone(),
                buyer: order.member.clone(),
                amount_cents: order.amount_cents,
                referrer,
                group_owner,
            },
        );
        if earned.is_empty() {
            return Ok(());
        }
        let entries = earned
            .iter()
            .map(|commission| {
                let member = Account::member(order.platform, commission.earner.clone());
                let (from, to) = if commission.amount_cents > 0 {
                    (Account::Issuance, member)
                } else {
                    (member, Account::Issuance)
                };
                NewEntry {
                    key: commission.key(&order.order_id),
                    reason: Reason::Commission,
                    cause: Some(order_event_key(workspace, &order.order_id)),
                    from,
                    to,
                    amount: commission.amount_cents.abs(),
                    at: order.at,
                    memo: format!("{} {} {}", commission.rule, order.order_id, order.currency),
                    reverses: None,
                }
            })
            .collect();
        for posting in self.store.post_entries(workspace, entries).await? {
            if let qunzhu_storage::Posting::Refused { error } = posting {
                // A clawback the earner has already spent: the statement still nets it.
                tracing::warn!(order = %order.order_id, %error, "commission posting refused by the ledger");
            }
        }
        let rows = earned
            .into_iter()
            .map(|commission| CommissionRow {
                order_id: order.order_id.clone(),
                rule: commission.rule,
                platform: order.platform,
                earner: commission.earner,
                amount_cents: commission.amount_cents,
                at: order.at,
            })
            .collect();
        self.store.record_commissions(workspace, rows).await?;
        Ok(())
    }

    /// The instants of the workspace's local days `from` to `to`, both included.
    async fn local_days(
        &self,
        who: &Actor,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<(DateTime<Utc>, DateTime<Utc>)> {
        if to < from || (to - from).num_days() > 366 {
            return Err(OpsError::invalid(
                "from",
                "from must be on or before to, at most 366 days apart",
            ));
        }
        let zone = self.store.workspace(who.workspace).await?.time_zone;
        let start = |day: NaiveDate| {
            day.and_hms_opt(0, 0, 0)
                .and_then(|midnight| midnight.and_local_timezone(zone).earliest())
                .map(|local| local.to_utc())
                .ok_or_else(|| {
                    OpsError::invalid("from", format!("{day} has no midnight in {zone}"))
                })
        };
        let after = to
            .succ_opt()
            .ok_or_else(|| OpsError::invalid("to", "a day before 9999"))?;
        Ok((start(from)?, start(after)?))
    }

    /// Orders placed on the workspace's local days `from` to `to`, newest first.
    pub async fn orders(
        &self,
        who: &Actor,
        from: NaiveDate,
        to: NaiveDate,
        limit: usize,
    ) -> Result<Vec<Order>> {
        who.require(UserRole::Viewer)?;
        let (from, until) = self.local_days(who, from, to).await?;
        Ok(self
            .store
            .orders(who.workspace, from, until, limit.clamp(1, 1_000))
            .await?)
    }

    /// Enters a cost against a campaign; `request` is the caller's idempotency key.
    pub async fn add_campaign_cost(
        &self,
        who: &Actor,
        campaign: &str,
        amount_cents: i64,
        memo: &str,
        request: &str,
    ) -> Result<CampaignCost> {
        who.require(UserRole::Operator)?;
        let campaign = campaign.trim();
        if campaign.is_empty() || campaign.len() > 200 {
            return Err(OpsError::invalid(
                "campaign",
                "give the campaign's name (1 to 200 characters)",
            ));
        }
        if amount_cents <= 0 {
            return Err(OpsError::invalid(
                "amount_cents",
                format!("a cost is positive, got {amount_cents}"),
            ));
        }
        let request = request.trim();
        if request.is_empty() || request.len() > 200 {
            return Err(OpsError::invalid("request", "give a request id of 1 to 200 characters; a retry with the same id adds nothing more"));
        }
        let cost = CampaignCost {
            key: qunzhu_domain::keys::campaign_cost(&who.name.to_string(), request),
            campaign: campaign.to_string(),
            amount_cents,
            memo: memo.trim().to_string(),
            at: self.clock.now(),
        };
        let (stored, new) = self.store.add_campaign_cost(who.workspace, cost).await?;
        if new {
            self.audit(who, "campaign.cost", &stored.campaign, json!({ "amount_cents": stored.amount_cents, "memo": stored.memo, "request": request }))
                .await?;
        }
        Ok(stored)
    }

    /// ROI per campaign: entered costs plus reward points paid out (at `point_value_cents` each)
    /// against attributed revenue and acquired members.
    pub async fn campaign_roi(
        &self,
        who: &Actor,
        point_value_cents: i64,
    ) -> Result<Vec<CampaignRoi>> {
        who.require(UserRole::Viewer)?;
        Ok(self
            .store
            .campaign_totals(who.workspace)
            .await?
            .into_iter()
            .map(|totals| {
                campaign_roi(
                    &CampaignFacts {
                        campaign: totals.campaign,
                        entered_cents: totals.entered_cents,
                        reward_points: totals.reward_points,
                        revenue_cents: totals.revenue.revenue_cents,
                        orders: totals.revenue.orders,
                        acquired: totals.acquired,
                    },
                    point_value_cents,
                )
            })
            .collect())
    }

    /// Names a group's owner, whom group-builder commission rules pay.
    pub async fn set_group_owner(
        &self,
        who: &Actor,
        group_id: qunzhu_domain::GroupId,
        owner: &str,
    ) -> Result<()> {
        who.require(UserRole::Operator)?;
        let group = match self.store.group(who.workspace, group_id).await {
            Ok(group) => group,
            Err(StoreError::NotFound { .. }) => return Err(OpsError::NotFound("group")),
            Err(error) => return Err(error.into()),
        };
        let (platform, chat) = (group.platform, group.chat.as_str());
        match self
            .store
            .member(who.workspace, platform, &MemberId::from(owner))
            .await
        {
            Ok(_) => {}
            Err(StoreError::NotFound { .. }) => return Err(OpsError::NotFound("member")),
            Err(error) => return Err(error.into()),
        }
        self.store
            .set_group_owner(who.workspace, platform, chat, owner)
            .await?;
        self.audit(
            who,
            "group.owner",
            chat,
            json!({ "platform": platform.as_str(), "owner": owner }),
        )
        .await
    }

    /// Commissions payable per earner for orders placed on local days `from` to `to`.
    pub async fn commission_statement(
        &self,
        who: &Actor,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<StatementLine>> {
        who.require(UserRole::Viewer)?;
        let (from, until) = self.local_days(who, from, to).await?;
        Ok(self
            .store
            .commission_statement(who.workspace, from, until)
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::TimeZone;
    use qunzhu_domain::{Clock, FakeClock, InviteChange, InviteCode, JoinVia};
    use qunzhu_growth::commission::CommissionBasis;
    use qunzhu_storage::{ActionFilter, NewLink, NewWorkspace, Store};

    use super::*;

    const P: Platform = Platform::Sandbox;

    struct World {
        ops: Ops,
        clock: FakeClock,
        ws: WorkspaceId,
    }

    fn joined_event(
        ws: WorkspaceId,
        chat: &str,
        member: &str,
        via: JoinVia,
        at: DateTime<Utc>,
    ) -> NewEvent {
        NewEvent {
            day: at.date_naive(),
            event: Event {
                workspace: ws,
                platform: P,
                key: format!("join:{chat}:{member}"),
                chat: chat.into(),
                at,
                kind: EventKind::MemberJoined {
                    member: member.into(),
                    display_name: None,
                    via,
                },
            },
        }
    }

    /// `@own` owns `g1` (4 members); `@amy` brought `@buyer` into g1 through code `amy-1` of
    /// campaign `spring`; the SOP push `sop:p/s/1` sent link `L1` in g2, where `@buyer` also is.
    async fn world() -> World {
        let store: Arc<dyn Store> =
            Arc::new(qunzhu_storage_sqlite::SqliteStore::open_in_memory().unwrap());
        let start = Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap();
        let clock = FakeClock::new(start);
        let ws = store
            .ensure_workspace(NewWorkspace {
                slug: "brand".into(),
                name: "Brand".into(),
                time_zone: chrono_tz::Asia::Shanghai,
            })
            .await
            .unwrap()
            .id;
        let code = JoinVia::Link {
            code: "amy-1".into(),
        };
        let events = vec![
            joined_event(ws, "g1", "@own", JoinVia::Direct, start),
            joined_event(ws, "g1", "@amy", JoinVia::Direct, start),
            joined_event(
                ws,
                "g1",
                "@buyer",
                code.clone(),
                start + Duration::minutes(1),
            ),
            joined_event(ws, "g1", "@x", JoinVia::Direct, start),
            joined_event(
                ws,
                "g2",
                "@buyer",
                JoinVia::Direct,
                start + Duration::minutes(2),
            ),
        ];
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
        store
            .put_invite_code(
                ws,
                InviteCode {
                    code: "amy-1".into(),
                    platform: P,
                    member: "@amy".into(),
                    campaign: Some("spring".into()),
                },
            )
            .await
            .unwrap();
        let arrival =
            |chat: &str, invitee: &str, inviter: Option<&str>, minutes: i64| InviteChange::Joined {
                platform: P,
                chat: chat.into(),
                invitee: invitee.into(),
                inviter: inviter.map(String::from),
                channel: if inviter.is_some() {
                    InviteChannel::Link
                } else {
                    InviteChannel::Direct
                },
                code: inviter.map(|_| "amy-1".into()),
                campaign: inviter.map(|_| "spring".into()),
                at: start + Duration::minutes(minutes),
            };
        store
            .apply_invite_changes(
                ws,
                vec![
                    arrival("g1", "@buyer", Some("@amy"), 1),
                    arrival("g2", "@buyer", None, 2),
                ],
                5,
            )
            .await
            .unwrap();
        store
            .put_links(vec![NewLink {
                code: "L1".into(),
                workspace: ws,
                url: "https://shop.example/tea".into(),
                push: "sop:p/s/1".into(),
                chat: "g2".into(),
                member: None,
                created_at: start,
            }])
            .await
            .unwrap();
        let g1 = store.ensure_group(ws, P, "g1").await.unwrap().id;
        let ops = Ops::new(store, Arc::new(clock.clone()));
        ops.set_group_owner(&Actor::cli(ws), g1, "@own")
            .await
            .unwrap();
        clock.advance(Duration::hours(1));
        World { ops, clock, ws }
    }

    fn incoming(id: &str, cents: i64) -> IncomingOrder {
        IncomingOrder {
            order_id: id.into(),
            buyer: Buyer::Platform {
                platform: P,
                user: "@buyer".into(),
            },
            amount_cents: cents,
            currency: "CNY".into(),
            items: vec!["tea".into()],
            coupon: None,
            link_token: None,
            refund_of: None,
        }
    }

    fn policy(model: AttributionModel) -> OrderPolicy {
        OrderPolicy {
            model,
            showcase: Some(ShowcasePolicy {
                window: Duration::days(3),
                text: "晒单 {hashtag}".into(),
                hashtag: "#晒单".into(),
            }),
            commission_rules: vec![
                CommissionRule {
                    name: "builder".into(),
                    basis: CommissionBasis::GroupOwner,
                    share_bp: 1_000,
                    min_group_members: 4,
                    min_referrals: 0,
                },
                CommissionRule {
                    name: "seller".into(),
                    basis: CommissionBasis::Referrer,
                    share_bp: 500,
                    min_group_members: 0,
                    min_referrals: 1,
                },
            ],
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_order_is_attributed_logged_invited_and_commissioned_once() {
        let World { ops, clock, ws } = world().await;
        let last = policy(AttributionModel::LastTouch);
        let order = IncomingOrder {
            link_token: Some("L1".into()),
            ..incoming("o1", 10_000)
        };
        let recorded = ops.accept_order(ws, order.clone(), &last).await.unwrap();
        let OrderRecorded::New { order: stored } = recorded else {
            panic!("new order expected")
        };
        // Last touch: the push link (g2) closes the sale; campaign and code stay the join's.
        assert_eq!(stored.chat.as_deref(), Some("g2"));
        assert_eq!(stored.push.as_deref(), Some("sop:p/s/1"));
        assert_eq!(stored.campaign.as_deref(), Some("spring"));
        assert_eq!(stored.live_code.as_deref(), Some("amy-1"));
        assert_eq!(stored.inviter.as_deref(), Some("@amy"));
        assert_eq!(stored.showcase_until, Some(clock.now() + Duration::days(3)));

        // Delivered again: the same order, nothing more logged, invited or paid.
        clock.advance(Duration::minutes(1));
        let again = ops.accept_order(ws, order, &last).await.unwrap();
        assert!(matches!(again, OrderRecorded::Duplicate { .. }));
        let events = ops.store.events(ws, 0, 100).await.unwrap();
        let orders: Vec<_> = events
            .iter()
            .filter(|e| matches!(e.event.kind, EventKind::OrderPlaced { .. }))
            .collect();
        assert_eq!(orders.len(), 1);
        assert_eq!(orders[0].event.key, order_event_key(ws, "o1"));
        assert_eq!(orders[0].event.chat, "g2");
        let invites = ops
            .store
            .actions(
                ws,
                &ActionFilter {
                    origin_prefix: Some(qunzhu_domain::ActionOrigin::ORDERS_PREFIX.into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(invites.len(), 1);
        assert_eq!(invites[0].key, "showcase:o1");
        assert_eq!(invites[0].chat, "g2");
        assert!(
            matches!(&invites[0].kind, ActionKind::SendMessage { text, mentions, .. } if text == "晒单 #晒单" && mentions == &["@buyer".to_string()])
        );

        // Only @amy is paid on g2's order: g2 has no owner. 5% of 100.00 = 5.00.
        let amy = Account::member(P, "@amy");
        assert_eq!(ops.store.balance(ws, &amy).await.unwrap(), 500);

        // A refund: attributed like its order, no invitation, commission clawed back.
        let refund = IncomingOrder {
            refund_of: Some("o1".into()),
            ..incoming("r1", -4_000)
        };
        let OrderRecorded::New { order: refunded } =
            ops.accept_order(ws, refund, &last).await.unwrap()
        else {
            panic!("new refund")
        };
        assert_eq!(
            (refunded.chat.as_deref(), refunded.push.as_deref()),
            (Some("g2"), Some("sop:p/s/1"))
        );
        assert_eq!(refunded.showcase_until, None);
        assert_eq!(ops.store.balance(ws, &amy).await.unwrap(), 300);
        let revenue = ops
            .store
            .push_revenue(ws, &["sop:p/s/1".into()])
            .await
            .unwrap();
        assert_eq!((revenue[0].orders, revenue[0].revenue_cents), (1, 6_000));

        // First touch: the join (g1, owned by @own with 4 members) takes the group; both rules pay.
        let first = policy(AttributionModel::FirstTouch);
        let OrderRecorded::New { order: o2 } = ops
            .accept_order(
                ws,
                IncomingOrder {
                    link_token: Some("L1".into()),
                    ..incoming("o2", 2_000)
                },
                &first,
            )
            .await
            .unwrap()
        else {
            panic!("new order")
        };
        assert_eq!(
            (o2.chat.as_deref(), o2.push.as_deref()),
            (Some("g1"), Some("sop:p/s/1"))
        );
        let statement = ops
            .commission_statement(
                &Actor::cli(ws),
                clock.now().date_naive(),
                clock.now().date_naive(),
            )
            .await
            .unwrap();
        let lines: Vec<(&str, i64)> = statement
            .iter()
            .map(|line| (line.earner.as_str(), line.amount_cents))
            .collect();
        assert_eq!(lines, vec![("@amy", 400), ("@own", 200)]);
        assert_eq!(
            ops.store
                .balance(ws, &Account::member(P, "@own"))
                .await
                .unwrap(),
            200
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn bad_orders_say_what_is_wrong() {
        let World { ops, ws, .. } = world().await;
        let last = policy(AttributionModel::LastTouch);
        let stranger = IncomingOrder {
            buyer: Buyer::Platform {
                platform: P,
                user: "@nobody".into(),
            },
            ..incoming("o9", 100)
        };
        assert!(matches!(
            ops.accept_order(ws, stranger, &last).await,
            Err(OpsError::NotFound("member"))
        ));
        let unknown_code = IncomingOrder {
            buyer: Buyer::Code("nope".into()),
            ..incoming("o9", 100)
        };
        assert!(matches!(
            ops.accept_order(ws, unknown_code, &last).await,
            Err(OpsError::NotFound("member"))
        ));
        let orphan = IncomingOrder {
            refund_of: Some("missing".into()),
            ..incoming("r9", -100)
        };
        assert!(
            matches!(ops.accept_order(ws, orphan, &last).await, Err(OpsError::Invalid { field, .. }) if field == "refund_of")
        );
        // The buyer named by their member code is the same member.
        let by_code = IncomingOrder {
            buyer: Buyer::Code("amy-1".into()),
            ..incoming("o10", 100)
        };
        let recorded = ops.accept_order(ws, by_code, &last).await.unwrap();
        assert_eq!(recorded.order().member, "@amy");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn campaign_roi_counts_costs_rewards_revenue_and_members() {
        let World { ops, ws, .. } = world().await;
        let who = Actor::cli(ws);
        let spring = Account::Campaign {
            name: "spring".into(),
        };
        let entry = |key: &str, from: Account, to: Account, amount: i64| NewEntry {
            key: key.into(),
            reason: Reason::Invite,
            cause: None,
            from,
            to,
            amount,
            at: ops.clock.now(),
            memo: String::new(),
            reverses: None,
        };
        ops.store
            .post_entries(
                ws,
                vec![
                    entry("fund", Account::Issuance, spring.clone(), 1_000),
                    entry("g1", spring, Account::member(P, "@amy"), 200),
                ],
            )
            .await
            .unwrap();
        ops.add_campaign_cost(&who, "spring", 3_000, "prizes", "req-1")
            .await
            .unwrap();
        ops.add_campaign_cost(&who, "spring", 3_000, "prizes", "req-1")
            .await
            .unwrap();
        let bad = ops.add_campaign_cost(&who, "spring", 0, "", "req-2").await;
        assert!(matches!(bad, Err(OpsError::Invalid { field, .. }) if field == "amount_cents"));
        ops.accept_order(ws, incoming("o1", 12_000), &OrderPolicy::default())
            .await
            .unwrap();
        let roi = ops.campaign_roi(&who, 10).await.unwrap();
        assert_eq!(roi.len(), 1);
        let line = &roi[0];
        // Cost: 30.00 entered + 200 points × 0.10 = 50.00; revenue 120.00; one member acquired.
        assert_eq!(
            (line.entered_cents, line.reward_points, line.cost_cents),
            (3_000, 200, 5_000)
        );
        assert_eq!(
            (line.revenue_cents, line.orders, line.acquired),
            (12_000, 1, 1)
        );
        assert_eq!(line.roi, Some(1.4));
        assert_eq!(line.cost_per_acquired_cents, Some(5_000));
        let verbs = ops.store.audit_log(ws, None, 100).await.unwrap();
        assert_eq!(
            verbs
                .iter()
                .filter(|entry| entry.action == "campaign.cost")
                .count(),
            1,
            "a retry is audited once"
        );
    }
}
