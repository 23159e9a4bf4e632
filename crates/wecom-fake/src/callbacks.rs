//! The callback sender: encrypts each event with the real WXBizMsgCrypt and posts it to the
//! app's callback URL, trying 3 times in all when the answer does not come within 5 s or is
//! not a 200, as WeCom does.

use std::time::Duration;

use qunzhu_wecom::MsgCrypt;

use crate::FakeWecom;

/// Where callbacks go: the app's callback URL and its Token/EncodingAESKey.
#[derive(Debug, Clone)]
pub struct CallbackTarget {
    pub url: String,
    pub crypt: MsgCrypt,
    /// WeCom waits 5 s for an answer.
    pub answer_within: Duration,
}

impl CallbackTarget {
    pub fn new(url: impl Into<String>) -> CallbackTarget {
        CallbackTarget {
            url: url.into(),
            crypt: MsgCrypt::new(crate::TOKEN, crate::AES_KEY, crate::CORP_ID)
                .expect("the fake's AES key is valid"),
            answer_within: Duration::from_secs(5),
        }
    }
}

/// What delivering one callback took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub tries: u32,
    /// The HTTP status of each try (0: no answer in time).
    pub statuses: Vec<u16>,
}

impl Delivery {
    pub fn accepted(&self) -> bool {
        self.statuses.last() == Some(&200)
    }
}

impl FakeWecom {
    /// Posts one plaintext event, retrying like WeCom.
    pub async fn deliver(&self, target: &CallbackTarget, plain: &str) -> Delivery {
        let client = reqwest::Client::new();
        let mut statuses = Vec::new();
        for _ in 0..3 {
            let timestamp = self.clock().now().timestamp().to_string();
            let nonce = format!("{}", rand::random::<u32>());
            let (body, signature) = target.crypt.encrypt_msg(plain, &timestamp, &nonce);
            let request = client
                .post(&target.url)
                .query(&[
                    ("msg_signature", signature.as_str()),
                    ("timestamp", timestamp.as_str()),
                    ("nonce", nonce.as_str()),
                ])
                .body(body)
                .timeout(target.answer_within)
                .send();
            let status = match request.await {
                Ok(response) => response.status().as_u16(),
                Err(_) => 0,
            };
            statuses.push(status);
            if status == 200 {
                break;
            }
        }
        Delivery {
            tries: statuses.len() as u32,
            statuses,
        }
    }

    /// Delivers every queued callback in order; returns what each took.
    pub async fn deliver_all(&self, target: &CallbackTarget) -> Vec<Delivery> {
        let queued = self.with(|world| world.take_outgoing());
        let mut out = Vec::new();
        for plain in queued {
            out.push(self.deliver(target, &plain).await);
        }
        out
    }

    /// Drops the queued callbacks (WeCom lost them).
    pub fn lose_outgoing(&self) -> usize {
        self.with(|world| world.take_outgoing().len())
    }
}
