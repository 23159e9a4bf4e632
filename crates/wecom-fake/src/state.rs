//! The fake's world: groups, join ways, group-send and moment tasks, welcome templates, tokens,
//! and the API handlers that read and change them, with WeCom's errcodes.

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};

use crate::error;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeMember {
    pub userid: String,
    /// 1 staff, 2 customer.
    pub kind: u32,
    pub join_time: i64,
    pub join_scene: u32,
    pub invitor: Option<String>,
    pub state: Option<String>,
    pub name: String,
}

#[derive(Debug, Clone, Default)]
pub struct FakeGroup {
    pub name: String,
    pub owner: String,
    pub notice: String,
    pub admins: Vec<String>,
    pub members: Vec<FakeMember>,
    pub version: u64,
    pub dismissed: bool,
    pub create_time: i64,
}

#[derive(Debug, Clone, Default)]
pub struct FakeWay {
    /// 1 mini-program, 2 QR code (only a QR way has a `qr_code`).
    pub scene: i64,
    pub state: String,
    pub chat_ids: Vec<String>,
    pub auto_create_room: bool,
    pub room_base_name: String,
    pub updates: u32,
}

/// A group-send task as WeCom keeps it.
#[derive(Debug, Clone, Default)]
pub struct FakeTemplate {
    pub sender: String,
    pub chat_ids: Vec<String>,
    pub text: String,
    pub created_at: i64,
    /// Unix seconds the owner sent it, once they did.
    pub sent_at: Option<i64>,
    /// chat → 1 sent, 3 refused by the receive cap.
    pub results: BTreeMap<String, i64>,
    pub reminders: Vec<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct FakeMoment {
    pub text: String,
    pub staff: Vec<String>,
    pub moment_id: Option<String>,
}

/// Everything the fake knows.
#[derive(Debug, Default)]
pub struct World {
    pub groups: BTreeMap<String, FakeGroup>,
    pub ways: BTreeMap<String, FakeWay>,
    pub templates: BTreeMap<String, FakeTemplate>,
    pub moments: BTreeMap<String, FakeMoment>,
    pub welcome: BTreeMap<String, String>,
    /// Per day (Unix seconds of local midnight) per owner: new members.
    pub statistics: BTreeMap<i64, i64>,
    /// token → expiry (Unix seconds).
    pub tokens: HashMap<String, i64>,
    pub tokens_issued: u32,
    pub token_ttl: i64,
    /// Every API path called, in order.
    pub calls: Vec<String>,
    /// Calls allowed per API per minute before 45009.
    pub per_minute: usize,
    window: HashMap<String, Vec<i64>>,
    /// Answer every call with 60020 (this server's IP is not in 企业可信IP).
    pub refuse_ip: bool,
    /// Errcodes to answer the next calls of a path with.
    pub fail_next: HashMap<String, Vec<i64>>,
    /// Group sends a group may receive per month.
    pub receive_cap: u32,
    received: HashMap<String, u32>,
    /// Callback plaintexts waiting to be delivered.
    pub outgoing: Vec<String>,
    next_id: u64,
}

impl World {
    pub fn new() -> World {
        World {
            token_ttl: 7200,
            per_minute: 10_000,
            receive_cap: 31,
            ..World::default()
        }
    }

    fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}{:08}", self.next_id)
    }

    // --- the platform side, driven by tests ---------------------------------------------------

    /// A customer group owned by `owner`, with the owner as its first member.
    pub fn create_group(&mut self, chat: &str, owner: &str, name: &str, now: i64) {
        let group = FakeGroup {
            name: name.into(),
            owner: owner.into(),
            members: vec![FakeMember {
                userid: owner.into(),
                kind: 1,
                join_time: now,
                join_scene: 1,
                invitor: None,
                state: None,
                name: owner.into(),
            }],
            version: 1,
            create_time: now,
            ..FakeGroup::default()
        };
        self.groups.insert(chat.into(), group);
        self.event(
            chat,
            now,
            "<ChangeType><![CDATA[create]]></ChangeType>".into(),
        );
    }

    fn event(&mut self, chat: &str, now: i64, inner: String) {
        self.outgoing.push(format!(
            "<xml><ToUserName><![CDATA[{}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>{now}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_external_chat]]></Event><ChatId><![CDATA[{chat}]]></ChatId>{inner}</xml>",
            crate::CORP_ID
        ));
    }

    fn version(group: &FakeGroup) -> String {
        format!("ver{:06}", group.version)
    }

    /// Adds a member and queues the callback (`notify: false` loses it, as WeCom sometimes does).
    #[allow(clippy::too_many_arguments)]
    pub fn add_member(
        &mut self,
        chat: &str,
        member: FakeMember,
        event_scene: u32,
        notify: bool,
        now: i64,
    ) -> bool {
        let Some(group) = self.groups.get_mut(chat) else {
            return false;
        };
        let last = World::version(group);
        group.version += 1;
        let current = World::version(group);
        let userid = member.userid.clone();
        group.members.push(member);
        if notify {
            self.event(chat, now, format!(
                "<ChangeType><![CDATA[update]]></ChangeType><UpdateDetail><![CDATA[add_member]]></UpdateDetail><JoinScene>{event_scene}</JoinScene><MemChangeCnt>1</MemChangeCnt><MemChangeList><Item><![CDATA[{userid}]]></Item></MemChangeList><LastMemVer><![CDATA[{last}]]></LastMemVer><CurMemVer><![CDATA[{current}]]></CurMemVer>"
            ));
        }
        true
    }

    /// A customer scans a join way's code: they land in its first group with room.
    pub fn join_via_way(
        &mut self,
        config_id: &str,
        userid: &str,
        name: &str,
        now: i64,
    ) -> Option<String> {
        let way = self.ways.get(config_id)?.clone();
        let chat = way
            .chat_ids
            .iter()
            .find(|chat| {
                self.groups
                    .get(*chat)
                    .is_some_and(|group| group.members.len() < 500)
            })?
            .clone();
        let member = FakeMember {
            userid: userid.into(),
            kind: 2,
            join_time: now,
            join_scene: 3,
            invitor: None,
            state: Some(way.state).filter(|state| !state.is_empty()),
            name: name.into(),
        };
        self.add_member(&chat, member, 3, true, now);
        Some(chat)
    }

    /// A member leaves (`removed`: the owner removed them, QuitScene 1).
    pub fn leave(&mut self, chat: &str, userid: &str, removed: bool, notify: bool, now: i64) {
        let Some(group) = self.groups.get_mut(chat) else {
            return;
        };
        let last = World::version(group);
        group.members.retain(|member| member.userid != userid);
        group.version += 1;
        let current = World::version(group);
        if notify {
            let scene = u32::from(removed);
            self.event(chat, now, format!(
                "<ChangeType><![CDATA[update]]></ChangeType><UpdateDetail><![CDATA[del_member]]></UpdateDetail><QuitScene>{scene}</QuitScene><MemChangeCnt>1</MemChangeCnt><MemChangeList><Item><![CDATA[{userid}]]></Item></MemChangeList><LastMemVer><![CDATA[{last}]]></LastMemVer><CurMemVer><![CDATA[{current}]]></CurMemVer>"
            ));
        }
    }

    pub fn rename(&mut self, chat: &str, name: &str, now: i64) {
        if let Some(group) = self.groups.get_mut(chat) {
            group.name = name.into();
            self.event(chat, now, "<ChangeType><![CDATA[update]]></ChangeType><UpdateDetail><![CDATA[change_name]]></UpdateDetail>".into());
        }
    }

    /// Ownership passes to another staff member (离职继承 or a transfer in the client).
    pub fn change_owner(&mut self, chat: &str, owner: &str, now: i64) {
        if let Some(group) = self.groups.get_mut(chat) {
            group.owner = owner.into();
            self.event(chat, now, "<ChangeType><![CDATA[update]]></ChangeType><UpdateDetail><![CDATA[change_owner]]></UpdateDetail>".into());
        }
    }

    pub fn change_notice(&mut self, chat: &str, notice: &str, now: i64) {
        if let Some(group) = self.groups.get_mut(chat) {
            group.notice = notice.into();
            self.event(chat, now, "<ChangeType><![CDATA[update]]></ChangeType><UpdateDetail><![CDATA[change_notice]]></UpdateDetail>".into());
        }
    }

    pub fn dismiss(&mut self, chat: &str, now: i64) {
        if let Some(group) = self.groups.get_mut(chat) {
            group.dismissed = true;
            self.event(
                chat,
                now,
                "<ChangeType><![CDATA[dismiss]]></ChangeType>".into(),
            );
        }
    }

    /// The owner taps send in the client: each group gets it unless its receive cap is reached.
    pub fn owner_sends(&mut self, msgid: &str, now: i64) -> bool {
        let Some(template) = self.templates.get(msgid).cloned() else {
            return false;
        };
        let mut results = BTreeMap::new();
        for chat in &template.chat_ids {
            let received = self.received.entry(chat.clone()).or_default();
            if *received >= self.receive_cap {
                results.insert(chat.clone(), 3);
            } else {
                *received += 1;
                results.insert(chat.clone(), 1);
            }
        }
        if let Some(template) = self.templates.get_mut(msgid) {
            template.sent_at = Some(now);
            template.results = results;
        }
        true
    }

    /// Staff confirm a moment task in the client: it gets its moment id.
    pub fn staff_post_moment(&mut self, jobid: &str) {
        let id = self.id("mom");
        if let Some(moment) = self.moments.get_mut(jobid) {
            moment.moment_id = Some(id);
        }
    }

    /// Every token issued so far stops working (as after 7200 s).
    pub fn expire_tokens(&mut self) {
        for expiry in self.tokens.values_mut() {
            *expiry = 0;
        }
    }

    /// Takes the callbacks queued so far.
    pub fn take_outgoing(&mut self) -> Vec<String> {
        std::mem::take(&mut self.outgoing)
    }

    // --- the API ------------------------------------------------------------------------------

    pub fn handle(
        &mut self,
        path: &str,
        query: &HashMap<String, String>,
        body: &Value,
        now: i64,
    ) -> Value {
        if self.refuse_ip {
            return error(60020, "not allow to access from your ip");
        }
        if let Some(code) = self.fail_next.get_mut(path).and_then(|codes| {
            if codes.is_empty() {
                None
            } else {
                Some(codes.remove(0))
            }
        }) {
            return error(code, "injected by the test");
        }
        let window = self.window.entry(path.to_string()).or_default();
        window.retain(|at| now - *at < 60);
        if window.len() >= self.per_minute {
            return error(45009, "api freq out of limit");
        }
        window.push(now);
        if path == "gettoken" {
            if query.get("corpid").map(String::as_str) != Some(crate::CORP_ID)
                || query.get("corpsecret").map(String::as_str) != Some(crate::SECRET)
            {
                return error(40001, "invalid credential");
            }
            self.tokens_issued += 1;
            let token = format!("tok{}", self.tokens_issued);
            self.tokens.insert(token.clone(), now + self.token_ttl);
            return json!({"errcode":0,"errmsg":"ok","access_token":token,"expires_in":self.token_ttl});
        }
        match query
            .get("access_token")
            .and_then(|token| self.tokens.get(token))
        {
            None => return error(40014, "invalid access_token"),
            Some(expiry) if *expiry <= now => return error(42001, "access_token expired"),
            Some(_) => {}
        }
        let text = |key: &str| {
            body.get(key)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let strings = |value: Option<&Value>| -> Vec<String> {
            value
                .and_then(Value::as_array)
                .map(|list| {
                    list.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        match path.trim_start_matches("externalcontact/") {
            "groupchat/list" => {
                let list: Vec<Value> = self
                    .groups
                    .iter()
                    .filter(|(_, group)| !group.dismissed)
                    .map(|(chat, _)| json!({"chat_id": chat, "status": 0}))
                    .collect();
                json!({"errcode":0,"errmsg":"ok","group_chat_list":list,"next_cursor":""})
            }
            "groupchat/get" => {
                let chat = text("chat_id");
                let Some(group) = self.groups.get(&chat).filter(|group| !group.dismissed) else {
                    return error(701008, "chat not exist");
                };
                let members: Vec<Value> = group
                    .members
                    .iter()
                    .map(|member| {
                        let mut value = json!({"userid":member.userid,"type":member.kind,"join_time":member.join_time,
                            "join_scene":member.join_scene,"group_nickname":"","name":member.name});
                        if let Some(invitor) = &member.invitor {
                            value["invitor"] = json!({"userid": invitor});
                        }
                        if let Some(state) = &member.state {
                            value["state"] = json!(state);
                        }
                        value
                    })
                    .collect();
                let admins: Vec<Value> = group
                    .admins
                    .iter()
                    .map(|admin| json!({"userid": admin}))
                    .collect();
                json!({"errcode":0,"errmsg":"ok","group_chat":{"chat_id":chat,"name":group.name,"owner":group.owner,
                    "create_time":group.create_time,"notice":group.notice,"member_list":members,"admin_list":admins,
                    "member_version":World::version(group)}})
            }
            "groupchat/add_join_way" | "groupchat/update_join_way" => {
                let chats = strings(body.get("chat_id_list"));
                let state = text("state");
                let scene = body.get("scene").and_then(Value::as_i64).unwrap_or(0);
                if scene != 1 && scene != 2 {
                    return error(40058, "scene must be 1 (mini-program) or 2 (QR code)");
                }
                if text("remark").chars().count() > 30 {
                    return error(40058, "remark longer than 30 characters");
                }
                if chats.is_empty() || chats.len() > 5 {
                    return error(40058, "chat_id_list must list 1 to 5 groups");
                }
                if state.chars().count() > 30 {
                    return error(40058, "state longer than 30 characters");
                }
                if let Some(unknown) = chats.iter().find(|chat| !self.groups.contains_key(*chat)) {
                    return error(701008, &format!("chat not exist: {unknown}"));
                }
                let auto = body.get("auto_create_room").and_then(Value::as_i64) == Some(1);
                if path.ends_with("add_join_way") {
                    let config_id = self.id("cfg");
                    self.ways.insert(
                        config_id.clone(),
                        FakeWay {
                            scene,
                            state,
                            chat_ids: chats,
                            auto_create_room: auto,
                            room_base_name: text("room_base_name"),
                            updates: 0,
                        },
                    );
                    json!({"errcode":0,"errmsg":"ok","config_id":config_id})
                } else {
                    let Some(way) = self.ways.get_mut(&text("config_id")) else {
                        return error(40058, "unknown config_id");
                    };
                    way.scene = scene;
                    way.state = state;
                    way.chat_ids = chats;
                    way.auto_create_room = auto;
                    way.updates += 1;
                    json!({"errcode":0,"errmsg":"ok"})
                }
            }
            "groupchat/get_join_way" => {
                let config_id = text("config_id");
                let Some(way) = self.ways.get(&config_id) else {
                    return error(40058, "unknown config_id");
                };
                let mut answer = json!({"errcode":0,"errmsg":"ok","join_way":{"config_id":config_id,"scene":way.scene,"remark":"",
                    "auto_create_room":i32::from(way.auto_create_room),"room_base_name":way.room_base_name,"room_base_id":1,
                    "chat_id_list":way.chat_ids,"state":way.state}});
                // Only a QR-code way (scene 2) has a QR image.
                if way.scene == 2 {
                    answer["join_way"]["qr_code"] =
                        json!(format!("https://wework.qpic.cn/fake/{config_id}"));
                }
                answer
            }
            "groupchat/del_join_way" => {
                self.ways.remove(&text("config_id"));
                json!({"errcode":0,"errmsg":"ok"})
            }
            "groupchat/statistic_group_by_day" => {
                let begin = body
                    .get("day_begin_time")
                    .and_then(Value::as_i64)
                    .unwrap_or(0);
                let end = body
                    .get("day_end_time")
                    .and_then(Value::as_i64)
                    .unwrap_or(0);
                if end - begin > 29 * 86_400 {
                    return error(40058, "at most 30 days");
                }
                let items: Vec<Value> = self
                    .statistics
                    .range(begin..=end)
                    .map(|(day, new)| json!({"stat_time": day, "data": {"new_chat_cnt":0,"chat_total":1,"chat_has_msg":0,
                        "new_member_cnt": new, "member_total": 0, "member_has_msg": 0, "msg_total": 0}}))
                    .collect();
                json!({"errcode":0,"errmsg":"ok","items":items})
            }
            "add_msg_template" => {
                if text("chat_type") != "group" {
                    return error(40058, "chat_type must be group here");
                }
                let sender = text("sender");
                let chats = strings(body.get("chat_id_list"));
                let owned = chats.iter().all(|chat| {
                    self.groups
                        .get(chat)
                        .is_some_and(|group| group.owner == sender)
                });
                if sender.is_empty() || !owned {
                    return error(41048, "sender is not the owner of the groups");
                }
                let content = body
                    .get("text")
                    .map(|text| {
                        text.get("content")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string()
                    })
                    .unwrap_or_default();
                let msgid = self.id("msg");
                self.templates.insert(
                    msgid.clone(),
                    FakeTemplate {
                        sender,
                        chat_ids: chats,
                        text: content,
                        created_at: now,
                        ..FakeTemplate::default()
                    },
                );
                json!({"errcode":0,"errmsg":"ok","fail_list":[],"msgid":msgid})
            }
            "get_groupmsg_list_v2" => {
                let start = body.get("start_time").and_then(Value::as_i64).unwrap_or(0);
                let end = body
                    .get("end_time")
                    .and_then(Value::as_i64)
                    .unwrap_or(i64::MAX);
                if end < start || end - start > 31 * 86_400 {
                    return error(40058, "start_time..end_time covers at most a month");
                }
                let creator = text("creator");
                let list: Vec<Value> = self
                    .templates
                    .iter()
                    .filter(|(_, template)| (start..=end).contains(&template.created_at))
                    .filter(|(_, template)| creator.is_empty() || template.sender == creator)
                    .map(|(msgid, template)| {
                        json!({"msgid": msgid, "creator": template.sender, "create_type": 1,
                        "create_time": template.created_at, "text": {"content": template.text}})
                    })
                    .collect();
                json!({"errcode":0,"errmsg":"ok","next_cursor":"","group_msg_list":list})
            }
            "get_groupmsg_task" => {
                let Some(template) = self.templates.get(&text("msgid")) else {
                    return error(41063, "msgid not found");
                };
                let status = i32::from(template.sent_at.is_some());
                json!({"errcode":0,"errmsg":"ok","next_cursor":"","task_list":[{"userid":template.sender,"status":status,
                    "send_time":template.sent_at.unwrap_or(0)}]})
            }
            "get_groupmsg_send_result" => {
                let Some(template) = self.templates.get(&text("msgid")) else {
                    return error(41063, "msgid not found");
                };
                let list: Vec<Value> = template
                    .chat_ids
                    .iter()
                    .map(|chat| json!({"chat_id":chat,"userid":template.sender,
                        "status":template.results.get(chat).copied().unwrap_or(0),"send_time":template.sent_at.unwrap_or(0)}))
                    .collect();
                json!({"errcode":0,"errmsg":"ok","next_cursor":"","send_list":list})
            }
            "remind_groupmsg_send" => {
                let Some(template) = self.templates.get_mut(&text("msgid")) else {
                    return error(41063, "msgid not found");
                };
                let recent = template
                    .reminders
                    .iter()
                    .filter(|at| now - **at < 86_400)
                    .count();
                if recent >= 3 {
                    return error(45009, "remind at most 3 times in 24 hours");
                }
                template.reminders.push(now);
                json!({"errcode":0,"errmsg":"ok"})
            }
            "add_moment_task" => {
                let staff = strings(
                    body.get("visible_range")
                        .and_then(|range| range.get("sender_list"))
                        .and_then(|list| list.get("user_list")),
                );
                let content = body
                    .get("text")
                    .and_then(|text| text.get("content"))
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let jobid = self.id("job");
                self.moments.insert(
                    jobid.clone(),
                    FakeMoment {
                        text: content,
                        staff,
                        moment_id: None,
                    },
                );
                json!({"errcode":0,"errmsg":"ok","jobid":jobid})
            }
            "get_moment_task_result" => {
                let jobid = query.get("jobid").cloned().unwrap_or_default();
                let Some(moment) = self.moments.get(&jobid) else {
                    return error(40058, "unknown jobid");
                };
                match &moment.moment_id {
                    Some(id) => {
                        json!({"errcode":0,"errmsg":"ok","status":3,"type":"add_moment_task",
                        "result":{"errcode":0,"errmsg":"ok","moment_id":id,"invalid_sender_list":{"user_list":[]}}})
                    }
                    None => json!({"errcode":0,"errmsg":"ok","status":2,"type":"add_moment_task"}),
                }
            }
            "group_welcome_template/add" => {
                let content = body
                    .get("text")
                    .and_then(|text| text.get("content"))
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                if self.welcome.len() >= 100 {
                    return error(41085, "at most 100 welcome templates");
                }
                let id = self.id("tpl");
                self.welcome.insert(id.clone(), content);
                json!({"errcode":0,"errmsg":"ok","template_id":id})
            }
            "group_welcome_template/edit" => {
                let id = text("template_id");
                let content = body
                    .get("text")
                    .and_then(|text| text.get("content"))
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                match self.welcome.get_mut(&id) {
                    Some(old) => {
                        *old = content;
                        json!({"errcode":0,"errmsg":"ok"})
                    }
                    None => error(41086, "template not found"),
                }
            }
            "group_welcome_template/get" => match self.welcome.get(&text("template_id")) {
                Some(content) => json!({"errcode":0,"errmsg":"ok","text":{"content":content}}),
                None => error(41086, "template not found"),
            },
            "group_welcome_template/del" => {
                self.welcome.remove(&text("template_id"));
                json!({"errcode":0,"errmsg":"ok"})
            }
            _ => error(404, &format!("the fake does not know {path}")),
        }
    }
}
