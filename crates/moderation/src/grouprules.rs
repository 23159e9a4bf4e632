//! 群规: the five blocks (改名片 / 群服务 / 有问题 / 不可以 / 你可以) rendered to one screen.

/// A group's rules as structured data; each block is a list of short lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupRules {
    pub name: String,
    pub title: String,
    /// 改名片: the nickname format.
    pub rename: Vec<String>,
    /// 群服务: what the group offers.
    pub services: Vec<String>,
    /// 有问题: whom to ask.
    pub questions: Vec<String>,
    /// 不可以: red lines.
    pub forbidden: Vec<String>,
    /// 你可以: what is welcome.
    pub allowed: Vec<String>,
    /// The headings' language (the rule file's).
    pub language: crate::language::Language,
}

impl GroupRules {
    fn blocks(&self) -> [(&'static str, &[String]); 5] {
        let [rename, services, questions, forbidden, allowed] = self.language.headings();
        [
            (rename, &self.rename),
            (services, &self.services),
            (questions, &self.questions),
            (forbidden, &self.forbidden),
            (allowed, &self.allowed),
        ]
    }

    /// Plain text, one screen: a title, then each non-empty block with its lines; blank lines
    /// between blocks, because the articles found that walls of text go unread.
    pub fn render_text(&self, group: &str) -> String {
        let mut out = String::new();
        out.push_str(&self.title.replace("{group}", group));
        for (heading, lines) in self.blocks() {
            if lines.is_empty() {
                continue;
            }
            out.push_str("\n\n");
            out.push_str(heading);
            if let [only] = lines {
                out.push_str(self.language.colon());
                out.push_str(only);
            } else {
                for line in lines {
                    out.push_str("\n· ");
                    out.push_str(line);
                }
            }
        }
        out
    }

    /// The same as HTML for platforms that render it (Matrix `formatted_body`).
    pub fn render_html(&self, group: &str) -> String {
        let mut out = String::new();
        out.push_str("<p><strong>");
        out.push_str(&escape_html(&self.title.replace("{group}", group)));
        out.push_str("</strong></p>");
        for (heading, lines) in self.blocks() {
            if lines.is_empty() {
                continue;
            }
            out.push_str("<p><strong>");
            out.push_str(&escape_html(heading));
            out.push_str("</strong>");
            if let [only] = lines {
                out.push_str(self.language.colon());
                out.push_str(&escape_html(only));
                out.push_str("</p>");
            } else {
                out.push_str("</p><ul>");
                for line in lines {
                    out.push_str("<li>");
                    out.push_str(&escape_html(line));
                    out.push_str("</li>");
                }
                out.push_str("</ul>");
            }
        }
        out
    }
}

/// Escapes text for an HTML body.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' => out.push_str("<br>"),
            _ => out.push(character),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_one_screen_in_text_and_html() {
        let rules = GroupRules {
            name: "standard".into(),
            title: "{group} 群规".into(),
            rename: vec!["城市-姓名，例如 上海-小王".into()],
            services: vec!["每天 8:00 行业早报".into(), "每周三 <直播> 答疑".into()],
            questions: vec!["@客服小美".into()],
            forbidden: vec![],
            allowed: vec!["分享干货".into()],
            language: crate::language::Language::Zh,
        };
        assert_eq!(
            rules.render_text("读书会"),
            "读书会 群规\n\n📛 改名片：城市-姓名，例如 上海-小王\n\n🎁 群服务\n· 每天 8:00 行业早报\n· 每周三 <直播> 答疑\n\n🙋 有问题：@客服小美\n\n✅ 你可以：分享干货"
        );
        assert_eq!(
            rules.render_html("读书会"),
            "<p><strong>读书会 群规</strong></p><p><strong>📛 改名片</strong>：城市-姓名，例如 上海-小王</p>\
<p><strong>🎁 群服务</strong></p><ul><li>每天 8:00 行业早报</li><li>每周三 &lt;直播&gt; 答疑</li></ul>\
<p><strong>🙋 有问题</strong>：@客服小美</p><p><strong>✅ 你可以</strong>：分享干货</p>"
        );
    }
}
