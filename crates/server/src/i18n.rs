//! The console's words in Chinese (default) and English: one table, looked up by key.
//!
//! Every string a page shows goes through [`Lang::t`]; the table test checks each key is there
//! once with both languages, so a page never shows a bare key.

use axum::http::HeaderMap;

use crate::auth::cookie;

/// The console's language, from the `lang` cookie; zh-CN unless the operator switched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    pub fn from_headers(headers: &HeaderMap) -> Self {
        Lang::parse(cookie(headers, "lang").unwrap_or("zh"))
    }

    pub fn parse(code: &str) -> Self {
        if code == "en" {
            Lang::En
        } else {
            Lang::Zh
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The `lang` attribute of the page.
    pub fn html_lang(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }

    /// The word for `key`; an unknown key shows itself, which the table test forbids.
    pub fn t(self, key: &str) -> &'static str {
        match TABLE.iter().find(|(k, _, _)| *k == key) {
            Some((_, zh, en)) => match self {
                Lang::Zh => zh,
                Lang::En => en,
            },
            None => {
                // Tests render every page in both languages; a missing word fails them loudly.
                #[cfg(test)]
                panic!("missing console translation `{key}`");
                #[cfg(not(test))]
                tracing::warn!(key, "missing console translation");
                #[cfg(not(test))]
                "?"
            }
        }
    }
}

/// `(key, 中文, English)`.
pub static TABLE: &[(&str, &str, &str)] = &[
    ("app.name", "群主", "qunzhu"),
    (
        "app.tagline",
        "社群运营控制台",
        "Community operations console",
    ),
    ("nav.overview", "概览", "Overview"),
    ("nav.groups", "群组", "Groups"),
    ("nav.members", "成员", "Members"),
    ("nav.rules", "群规与审核规则", "Rules"),
    ("nav.sop", "SOP 计划", "SOP plans"),
    ("nav.moderation", "审核", "Moderation"),
    ("nav.audit", "审计日志", "Audit log"),
    ("nav.settings", "设置", "Settings"),
    ("nav.menu", "菜单", "Menu"),
    ("nav.signout", "退出登录", "Sign out"),
    ("lang.switch", "English", "中文"),
    ("login.title", "登录", "Sign in"),
    ("login.login", "账号", "Login"),
    ("login.password", "密码", "Password"),
    ("login.submit", "登录", "Sign in"),
    ("login.failed", "账号或密码错误", "Wrong login or password"),
    (
        "login.disabled",
        "此账号已停用，请联系所有者启用",
        "This account is disabled; ask an owner to enable it",
    ),
    (
        "login.busy",
        "服务器正忙，请稍后再试",
        "The server is busy; try again in a moment",
    ),
    (
        "login.throttled",
        "失败次数过多，请稍后再试（每多错一次，等待时间加倍，最长 15 分钟）",
        "Too many failed sign-ins; wait and try again (each further failure doubles the wait, up to 15 minutes)",
    ),
    (
        "login.expired",
        "登录已过期，请重新登录",
        "Your session has ended; please sign in again",
    ),
    ("common.save", "保存", "Save"),
    ("common.saved", "已保存", "Saved"),
    ("common.cancel", "取消", "Cancel"),
    ("common.delete", "删除", "Delete"),
    ("common.search", "搜索", "Search"),
    ("common.filter", "筛选", "Filter"),
    ("common.all", "全部", "All"),
    ("common.none", "暂无数据", "Nothing here yet"),
    ("common.name", "名称", "Name"),
    ("common.type", "类型", "Type"),
    ("common.status", "状态", "Status"),
    ("common.time", "时间", "Time"),
    ("common.actor", "操作人", "Actor"),
    ("common.action", "操作", "Action"),
    ("common.subject", "对象", "Subject"),
    ("common.detail", "详情", "Detail"),
    ("common.group", "群", "Group"),
    ("common.member", "成员", "Member"),
    ("common.reason", "原因", "Reason"),
    ("common.version", "版本", "Version"),
    ("common.updated", "更新", "Updated"),
    ("common.new", "新建", "New"),
    ("common.edit", "编辑", "Edit"),
    ("common.back", "返回", "Back"),
    (
        "common.readonly",
        "你的角色为只读，不能修改",
        "Your role is read-only",
    ),
    ("common.never", "从未", "never"),
    ("common.tags", "标签", "Tags"),
    ("common.today", "今日", "Today"),
    ("common.last30", "近 30 天", "Last 30 days"),
    ("common.live", "实时", "Live"),
    ("common.more", "更多", "More"),
    ("error.title", "出错了", "Something went wrong"),
    ("error.not_found", "找不到该页面或对象", "Not found"),
    (
        "error.forbidden",
        "你的角色不允许此操作",
        "Your role does not allow this",
    ),
    (
        "error.csrf",
        "表单已过期，请刷新页面后重试",
        "The form expired; reload the page and try again",
    ),
    (
        "error.internal",
        "服务器出错，已记录日志",
        "Something went wrong on the server; it has been logged",
    ),
    (
        "error.fix_below",
        "请修改下面标出的内容",
        "Please fix what is marked below",
    ),
    ("overview.title", "概览", "Overview"),
    ("health.title", "引擎与连接", "Engine and connectors"),
    (
        "health.ok",
        "所有任务运行正常",
        "Every engine loop is running",
    ),
    (
        "health.degraded",
        "有任务停止，正在重启：",
        "Engine loops down, restarting:",
    ),
    (
        "health.document_rejected",
        "已保存的文档有错误，仍按上一个正确版本运行：",
        "A saved document was rejected; the last good one stays in force:",
    ),
    ("health.connector", "连接", "Connector"),
    ("health.state", "状态", "State"),
    ("health.last_poll", "最近同步", "Last successful poll"),
    ("health.backlog", "待执行", "Backlog"),
    ("health.last_error", "最近错误", "Last error"),
    ("health.connecting", "连接中", "Connecting"),
    ("health.connected", "已连接", "Connected"),
    ("health.failing", "连接失败，重试中", "Failing, retrying"),
    (
        "overview.subtitle",
        "今日与近 30 天的社群运营数据，每 10 秒自动刷新",
        "Today and the last 30 days, refreshed every 10 seconds",
    ),
    ("metric.members", "成员数", "Members"),
    ("metric.joins", "入群", "Joins"),
    ("metric.leaves", "退群", "Leaves"),
    ("metric.speakers", "活跃发言人", "Active speakers"),
    ("metric.messages", "消息", "Messages"),
    ("metric.moderation", "审核处理", "Moderation actions"),
    ("metric.posts", "SOP 已发送", "Scheduled posts sent"),
    (
        "chart.activity",
        "消息与发言人（30 天）",
        "Messages and speakers (30 days)",
    ),
    (
        "chart.flow",
        "入群与退群（30 天）",
        "Joins and leaves (30 days)",
    ),
    ("groups.title", "群组", "Groups"),
    ("groups.size", "人数", "Size"),
    ("groups.activity", "14 天活跃度", "14-day activity"),
    ("groups.health", "健康度", "Health"),
    ("groups.platform", "平台", "Platform"),
    ("health.healthy", "活跃", "Healthy"),
    ("health.quiet", "偏冷", "Quiet"),
    ("health.dormant", "沉寂", "Dormant"),
    ("group.positioning", "定位", "Positioning"),
    ("group.purpose", "目标", "Purpose"),
    ("group.audience", "目标人群", "Audience"),
    ("group.value", "给成员的价值", "Value to members"),
    ("group.paid", "付费群", "Paid group"),
    ("group.channel", "引流渠道", "Traffic channel"),
    ("group.capacity", "容量", "Capacity"),
    ("group.members", "成员", "Members"),
    ("group.events", "最近动态", "Recent events"),
    ("group.modlog", "审核记录", "Moderation log"),
    (
        "group.calendar",
        "SOP 日程（未来 7 天）",
        "SOP calendar (next 7 days)",
    ),
    ("group.rules", "适用规则", "Rules in force"),
    ("gtype.traffic", "流量群", "Traffic"),
    ("gtype.flash", "快闪群", "Flash"),
    ("gtype.content", "内容群", "Content"),
    ("gtype.check_in", "打卡群", "Check-in"),
    ("gtype.member", "会员群", "Member / VIP"),
    ("gstatus.active", "运营中", "Active"),
    ("gstatus.archived", "已归档", "Archived"),
    ("gstatus.dissolved", "已解散", "Dissolved"),
    ("members.title", "成员", "Members"),
    ("members.text", "昵称或 ID", "Name or id"),
    ("members.tier", "等级", "Tier"),
    ("members.role", "角色", "Role"),
    ("members.last_active", "最近发言", "Last spoke"),
    ("members.active_within", "最近活跃", "Active within"),
    ("members.silent_for", "沉默超过", "Silent for"),
    ("members.days", "天", "days"),
    ("members.messages", "消息数", "Messages"),
    ("members.groups", "所在群数", "Groups"),
    ("members.joined", "入群时间", "Joined"),
    ("members.history", "历史动态", "History"),
    ("tier.vip", "VIP", "VIP"),
    ("tier.regular", "普通", "Regular"),
    ("tier.prospect", "潜在客户", "Prospect"),
    ("role.owner", "群主", "Owner"),
    ("role.admin", "管理员", "Admin"),
    ("role.service", "客服", "Service"),
    ("role.kol", "KOL", "KOL"),
    ("role.helper", "群托", "Helper"),
    ("role.committee", "班委", "Committee"),
    ("role.member", "成员", "Member"),
    ("rules.title", "规则文件", "Rule files"),
    (
        "rules.subtitle",
        "群规、欢迎语与自动审核，以 TOML 编写；保存后引擎立即生效",
        "Group rules, welcomes and moderation in TOML; the engine reloads on save",
    ),
    ("rules.source", "规则源文件（TOML）", "Rule source (TOML)"),
    (
        "rules.name_hint",
        "小写字母、数字和 -，例如 default",
        "Lowercase letters, digits and -, e.g. default",
    ),
    (
        "rules.invalid",
        "规则有误，未保存；你输入的内容已保留",
        "The rules have errors and were not saved; your text is kept",
    ),
    ("rules.line", "第 {} 行", "line {}"),
    ("sop.title", "SOP 计划", "SOP plans"),
    (
        "sop.subtitle",
        "内容日历：什么时间向哪些群发什么",
        "The content calendar: what to post where, and when",
    ),
    ("sop.source", "计划源文件（TOML）", "Plan source (TOML)"),
    ("sop.week", "本周日程", "This week"),
    ("sop.calendar", "日程", "Calendar"),
    ("sop.templates", "套用模板", "Apply a template"),
    ("sop.template", "模板", "Template"),
    ("sop.groups", "目标群", "Target groups"),
    ("sop.apply", "套用到所选群", "Apply to selected groups"),
    (
        "sop.pick_groups",
        "请至少选择一个群",
        "Pick at least one group",
    ),
    ("sop.prev_week", "上一周", "Previous week"),
    ("sop.next_week", "下一周", "Next week"),
    ("sop.plans", "计划", "Plans"),
    (
        "sop.invalid",
        "计划有误，未保存；你输入的内容已保留",
        "The plan has errors and was not saved; your text is kept",
    ),
    ("moderation.title", "审核", "Moderation"),
    ("moderation.requests", "入群申请", "Join requests"),
    ("moderation.approve", "通过", "Approve"),
    ("moderation.deny", "拒绝", "Deny"),
    (
        "moderation.bot_actions",
        "机器人审核记录",
        "Bot moderation actions",
    ),
    ("moderation.undo", "撤销", "Undo"),
    ("moderation.undone", "已提交撤销", "Undo queued"),
    ("moderation.decided", "已提交处理", "Decision queued"),
    (
        "moderation.lurkers",
        "潜水成员（28 天未发言）",
        "Lurkers (silent 28+ days)",
    ),
    ("moderation.rule", "规则", "Rule"),
    ("audit.title", "审计日志", "Audit log"),
    ("audit.people", "人员操作", "Changes by people"),
    ("audit.bot", "机器人动作", "Actions by the bot"),
    ("audit.older", "更早", "Older"),
    ("overview.no_groups", "还没有群", "No groups yet"),
    (
        "overview.next_step",
        "下一步：接入一个平台。把机器人账号配置好并邀请它进群，群和成员就会出现在这里。",
        "Next step: connect a platform. Configure the bot's account and invite it to a group; the group and its members then appear here.",
    ),
    ("overview.connect_matrix", "接入 Matrix", "Connecting to Matrix"),
    ("help.matrix_title", "接入 Matrix", "Connecting to Matrix"),
    (
        "help.matrix_lead",
        "摘自 README：在配置文件中启用 [matrix]，然后重启 qunzhu serve。",
        "From the README: enable [matrix] in the config file, then restart qunzhu serve.",
    ),
    ("users.title", "账号管理", "Users"),
    ("users.manage", "管理账号", "Manage users"),
    ("users.active", "正常", "active"),
    ("users.disabled", "已停用", "disabled"),
    ("users.you", "你", "you"),
    ("users.sessions", "登录会话", "Sessions"),
    ("users.disable", "停用", "Disable"),
    ("users.enable", "启用", "Enable"),
    ("users.new_password", "重置密码", "New password"),
    ("users.revoke", "全部下线", "End all sessions"),
    ("users.delete", "删除", "Delete"),
    ("users.back", "返回设置", "Back to settings"),
    (
        "users.password_once",
        "新密码只显示这一次，请交给本人；其原有登录已全部下线。",
        "The new password is shown only this once; hand it over. All of their sessions have ended.",
    ),
    (
        "users.hint",
        "停用、重置密码和全部下线会立即结束该账号的所有登录；与命令行 qunzhu users 相同。不能停用或删除自己，也不能停用最后一个所有者。",
        "Disabling, a new password and ending sessions sign the account out everywhere at once; the same as qunzhu users on the command line. You cannot disable or delete yourself, nor the last owner.",
    ),
    ("settings.title", "设置", "Settings"),
    ("settings.tokens", "API 令牌", "API tokens"),
    ("settings.token_name", "令牌名称", "Token name"),
    ("settings.token_role", "权限", "Role"),
    ("settings.create_token", "创建令牌", "Create token"),
    (
        "settings.token_once",
        "请立即复制，此令牌只显示一次：",
        "Copy it now; it is shown only once:",
    ),
    ("settings.revoke", "吊销", "Revoke"),
    ("settings.revoked", "已吊销", "Revoked"),
    ("settings.users", "控制台账号", "Console users"),
    ("settings.add_user", "添加账号", "Add user"),
    (
        "settings.api_hint",
        "自动化脚本用 Authorization: Bearer <令牌> 调用 REST API，接口文档：",
        "Scripts call the REST API with Authorization: Bearer <token>; its description:",
    ),
    ("urole.owner", "所有者", "Owner"),
    ("urole.admin", "管理员", "Admin"),
    ("urole.operator", "运营", "Operator"),
    ("urole.viewer", "只读", "Viewer"),
    ("act.send_message", "发消息", "message"),
    ("act.kick", "移出", "kick"),
    ("act.ban", "封禁", "ban"),
    ("act.unban", "解封", "unban"),
    ("act.mute", "禁言", "mute"),
    ("act.unmute", "解除禁言", "unmute"),
    ("act.redact", "撤回", "remove message"),
    ("act.invite", "邀请", "invite"),
    ("act.decide_join_request", "审批入群", "join decision"),
    ("act.set_power_level", "设置权限", "set power"),
    ("act.set_group_name", "改群名", "rename group"),
    ("act.set_topic", "改群公告", "set topic"),
    ("act.pin", "置顶", "pin"),
    ("act.grant_reward", "发放奖励", "reward"),
    ("act.send_with_buttons", "发按钮消息", "message with buttons"),
    ("act.delete_messages", "批量撤回", "remove messages"),
    ("act.create_invite_link", "创建邀请链接", "create invite link"),
    ("act.edit_invite_link", "修改邀请链接", "edit invite link"),
    ("act.revoke_invite_link", "作废邀请链接", "revoke invite link"),
    ("act.send_dice", "掷骰子", "roll dice"),
    ("act.send_poll", "发投票", "poll"),
    ("act.moment_task", "朋友圈任务", "moments post"),
    ("act.report_balance", "回复积分", "balance reply"),
    ("act.issue_coupon", "发券", "issue coupon"),
    ("st.pending", "待执行", "pending"),
    ("st.in_flight", "执行中", "in flight"),
    ("st.done", "已完成", "done"),
    ("st.dead", "失败", "failed"),
    ("st.skipped", "已跳过", "skipped"),
    ("st.dry_run", "演练", "dry run"),
    ("ev.member_joined", "入群", "joined"),
    ("ev.member_present", "已在群中", "present"),
    ("ev.member_left", "退群", "left"),
    ("ev.member_invited", "被邀请", "invited"),
    ("ev.member_unbanned", "解除封禁", "unbanned"),
    ("ev.message_posted", "发言", "said"),
    ("ev.display_name_changed", "改名片", "renamed self"),
    ("ev.join_requested", "申请入群", "asked to join"),
    (
        "ev.join_request_denied",
        "入群申请被拒",
        "join request denied",
    ),
    ("ev.reaction", "表情回应", "reacted"),
    ("ev.message_redacted", "消息被撤回", "message removed"),
    ("ev.group_renamed", "群改名", "group renamed"),
    ("ev.message_edited", "消息被编辑", "message edited"),
    ("ev.poll_answered", "投票", "answered a poll"),
    ("ev.button_clicked", "点击按钮", "clicked a button"),
    ("ev.dice_rolled", "掷骰子", "rolled dice"),
    ("ev.group_topic_changed", "群公告变更", "topic changed"),
    ("ev.group_owner_changed", "群主变更", "owner changed"),
    ("ev.group_dismissed", "群已解散", "group dismissed"),
    ("ev.order_placed", "下单", "order placed"),
    // --- SOP pushes and calendar outcomes (cockpit-sop) ---
    ("push.title", "推送效果", "Push results"),
    (
        "push.subtitle",
        "每条定时推送的状态、触达、点击与一小时内回复。",
        "Every scheduled push with its status, reach, clicks and replies within an hour.",
    ),
    (
        "push.zone",
        "时间均为工作区时区：",
        "Times are in the workspace's time zone:",
    ),
    (
        "push.empty",
        "还没有推送：SOP 计划排出的帖子会出现在这里。",
        "No pushes yet: posts planned by SOP plans appear here.",
    ),
    ("push.scheduled", "计划时间", "Scheduled"),
    ("push.sent_at", "发出时间", "Sent"),
    ("push.group", "群", "Group"),
    ("push.step", "计划/步骤", "Plan/step"),
    ("push.status", "状态", "Status"),
    ("push.reach", "触达", "Reach"),
    ("push.clicks", "点击/独立访客", "Clicks/unique"),
    ("push.replies", "1 小时内回复", "Replies (1 h)"),
    ("push.text", "发出内容", "Text sent"),
    ("push.queued", "待发送", "queued"),
    ("push.sent", "已发送", "sent"),
    ("push.late", "迟发", "late"),
    ("push.failed", "失败", "failed"),
    ("push.skipped", "已跳过", "skipped"),
    ("push.groups_count", "个群", "groups"),
    ("push.open", "推送效果 →", "Push results →"),
    ("push.reach_short", "触达", "reach"),
    ("push.clicks_short", "点击", "clicks"),
    ("push.replies_short", "回复", "replies"),
    // --- cockpit: today, group table, filters, members, editors (one block for easy merges) ---
    ("nav.today", "今日", "Today"),
    ("nav.banlist", "黑名单", "Ban list"),
    ("act.policy_rule", "封禁列表规则", "Policy list rule"),
    ("banlist.title", "黑名单", "Ban list"),
    ("banlist.help", "黑名单对本品牌所有群生效：成员所在的每个群都会被封禁，之后加入任何群也会立即被移出。规则不会命中本品牌的工作人员或机器人。", "The ban list holds in every group of the brand: the member is banned in each group they are in, and removed at once from any group they join later. No rule ever matches the brand's staff or the bot."),
    ("banlist.entity", "成员或规则", "Member or rule"),
    ("banlist.decided_by", "决定人", "Decided by"),
    ("banlist.source", "来源", "Source"),
    ("banlist.own", "本品牌", "This brand"),
    ("banlist.server", "整个服务器", "Whole server"),
    ("banlist.platform", "平台", "Platform"),
    ("banlist.ban", "全品牌封禁", "Ban in every group"),
    ("banlist.unban", "解除封禁", "Lift the ban"),
    ("banlist.refused", "已拒绝（会命中工作人员或机器人）：", "Refused (it would match staff or the bot):"),
    ("banlist.lists", "关注的封禁列表（Matrix）", "Followed policy lists (Matrix)"),
    ("banlist.lists_help", "新关注的列表先演练：下面列出它会在哪些群封禁谁，确认后再点「执行」。", "A newly followed list starts in dry-run: below is who it would ban where; enforce it once you have looked."),
    ("banlist.dry_run", "演练", "Dry-run"),
    ("banlist.enforced", "已执行", "Enforced"),
    ("banlist.rules", "条规则", "rules"),
    ("banlist.would_ban", "演练：将会封禁", "Dry-run: would ban"),
    ("banlist.bans_where", "正在封禁", "Banning"),
    ("banlist.enforce", "执行此列表", "Enforce this list"),
    ("banlist.unfollow", "取消关注", "Unfollow"),
    ("banlist.room", "列表房间 ID", "List room id"),
    ("banlist.follow", "关注（先演练）", "Follow (dry-run first)"),
    ("today.title", "今日", "Today"),
    (
        "today.subtitle",
        "昨天到现在发生的事、待处理的申请与今天的推送。现在是",
        "What happened since yesterday, requests waiting, and today's posts. It is now",
    ),
    ("today.happened", "昨天以来", "Since yesterday"),
    (
        "today.quiet",
        "昨天以来没有处理记录，也没有失败或卡住的动作。",
        "Nothing removed, muted or redacted since yesterday, and nothing failed or stuck.",
    ),
    ("today.stuck", "卡住", "stuck"),
    ("today.tasks", "待人工发送", "Posts to make by hand"),
    (
        "today.no_tasks",
        "没有需要人工发送的推送。",
        "No posts waiting for a person.",
    ),
    ("today.due", "计划时间", "Due"),
    ("today.post", "内容", "Post"),
    ("today.posts", "今日推送", "Today's posts"),
    ("today.confirm_sent", "确认已发送", "Confirm sent"),
    ("today.confirmed", "已确认发送", "Marked as sent"),
    ("groups.sort_by", "按此列排序", "Sort by this column"),
    ("groups.search", "搜索群名或标签", "Search name or tag"),
    ("groups.period", "时间范围", "Period"),
    ("groups.csv", "导出 CSV", "Export CSV"),
    ("groups.net", "净增", "Net"),
    ("groups.left", "主动退群", "Left"),
    ("groups.removed", "被移出", "Removed"),
    ("groups.ratio", "发言率", "Speaker share"),
    ("groups.checkins", "打卡", "Check-ins"),
    ("groups.clicks", "链接点击", "Link clicks"),
    ("groups.members_now", "当前成员", "Members now"),
    ("groups.n_groups", "个群", "groups"),
    ("groups.n_members", "位成员", "members"),
    ("period.today", "今天", "Today"),
    ("period.7d", "近 7 天", "Last 7 days"),
    ("period.30d", "近 30 天", "Last 30 days"),
    ("health.declining", "趋冷", "Declining"),
    ("fill.near", "接近上限", "near the cap"),
    ("fill.full", "已满", "full"),
    ("group.numbers", "数据", "Numbers"),
    (
        "group.name_required",
        "请填写群名称",
        "A group needs a name",
    ),
    (
        "group.capacity_range",
        "请输入 1 到 100000 之间的整数",
        "A whole number from 1 to 100000",
    ),
    (
        "chart.engagement",
        "打卡与链接点击（30 天）",
        "Check-ins and link clicks (30 days)",
    ),
    ("class.moderation", "审核处理", "Moderation"),
    ("class.welcome", "欢迎与群规", "Welcome"),
    ("class.faq", "自动答疑", "FAQ"),
    ("class.reward", "奖励", "Rewards"),
    ("class.post", "推送", "Posts"),
    ("class.other", "其他", "Other"),
    ("moderation.class", "类别", "Class"),
    ("moderation.approved", "已批准", "approved"),
    (
        "moderation.silent_now",
        "各群 28 天未发言的成员",
        "Members silent for 28 days, per group",
    ),
    ("moderation.silent_count", "人数", "Members"),
    ("moderation.denied", "已拒绝", "denied"),
    (
        "moderation.lurkers_total",
        "待确认移出（演练报告）共",
        "Waiting for confirmation (dry-run reports), in all",
    ),
    (
        "moderation.no_lurker_report",
        "近 7 天没有潜水演练报告。",
        "No dry-run lurker report in the last 7 days.",
    ),
    ("moderation.confirm_removal", "确认移出", "Confirm removal"),
    (
        "moderation.confirm_prompt",
        "确定把这些成员移出群吗",
        "Remove these members from the group",
    ),
    (
        "moderation.removals_queued",
        "移出已加入执行队列",
        "Removals queued",
    ),
    ("common.from", "开始日期", "From"),
    ("audit.verb", "操作（前缀）", "Change (prefix)"),
    ("common.to", "结束日期", "To"),
    ("act.person_task", "人工发送", "post by hand"),
    ("members.sort", "排序", "Sort by"),
    (
        "rules.reference",
        "规则文件参考（每个键、默认值、示例）",
        "Rule file reference (every key, default, example)",
    ),
    ("editor.wrap", "自动换行", "Wrap lines"),
    ("preview.title", "成员将看到的消息", "What members will see"),
    (
        "preview.hint",
        "以下消息由机器人发送时使用的同一函数生成，示例群：",
        "Rendered by the same functions the bot sends with, for the group",
    ),
    ("preview.sample_group", "示例群", "Sample group"),
    ("preview.sample_names", "小王 小李", "小王 小李"),
    (
        "preview.none",
        "这个文件没有欢迎语、群规或警告。",
        "This file has no welcome, 群规 or warning.",
    ),
    ("preview.welcome", "欢迎语", "Welcome"),
    ("preview.group_rules", "群规", "群规 (group rules)"),
    ("preview.warning", "警告", "Warning"),
    (
        "preview.post",
        "预览成员看到的内容",
        "Preview as members see it",
    ),
    ("msort.last_spoke", "最近发言", "Last spoke"),
    ("msort.messages", "发言数", "Messages"),
    ("msort.checkins", "打卡数", "Check-ins"),
    ("msort.clicks", "链接点击", "Link clicks"),
    ("msort.joined", "入群时间", "Joined"),
    ("members.show_bots", "显示机器人", "Show bots"),
    (
        "members.show_gone",
        "显示已退群/被移出",
        "Show members who left",
    ),
    ("members.total", "共", "Total"),
    ("members.page", "页", "page"),
    ("members.pages", "分页", "Pages"),
    ("members.prev", "上一页", "Previous"),
    ("members.next", "下一页", "Next"),
    ("members.gone", "已不在群", "gone"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_key_is_unique_and_translated_both_ways() {
        let mut seen = HashSet::new();
        for (key, zh, en) in TABLE {
            assert!(seen.insert(*key), "duplicate key {key}");
            assert!(!zh.is_empty() && !en.is_empty(), "untranslated {key}");
        }
        assert_eq!(Lang::Zh.t("nav.groups"), "群组");
        assert_eq!(Lang::En.t("nav.groups"), "Groups");
        assert_eq!(Lang::parse("fr"), Lang::Zh);
    }
}
