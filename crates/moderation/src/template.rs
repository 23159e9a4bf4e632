//! Message templates with `{variable}` holes, checked against the variables each template offers.

/// A variable a template may use; which ones are allowed depends on the template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Var {
    /// The member(s) greeted or addressed, joined with 、.
    Name,
    /// The group's name.
    Group,
    /// The rendered 群规.
    Rules,
    /// The self-introduction template.
    IntroTemplate,
    /// The join gift's text.
    Gift,
    /// Points of a gift.
    Points,
    /// Why a rule fired.
    Reason,
    /// How many warnings or reminders so far.
    Count,
    /// The rule's name.
    Rule,
    /// A nickname convention's human description.
    Format,
    /// Days of silence.
    Days,
    /// The human check's question.
    Question,
    /// Minutes a newcomer has to answer the human check.
    Minutes,
}

impl Var {
    const ALL: &'static [(Var, &'static str)] = &[
        (Var::Name, "name"),
        (Var::Group, "group"),
        (Var::Rules, "rules"),
        (Var::IntroTemplate, "intro_template"),
        (Var::Gift, "gift"),
        (Var::Points, "points"),
        (Var::Reason, "reason"),
        (Var::Count, "count"),
        (Var::Rule, "rule"),
        (Var::Format, "format"),
        (Var::Days, "days"),
        (Var::Question, "question"),
        (Var::Minutes, "minutes"),
    ];

    fn parse(word: &str) -> Option<Var> {
        Var::ALL
            .iter()
            .find(|(_, name)| *name == word)
            .map(|(var, _)| *var)
    }

    pub fn as_str(self) -> &'static str {
        Var::ALL
            .iter()
            .find(|(var, _)| *var == self)
            .map_or("", |(_, name)| name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Var(Var),
}

/// A parsed template; `{{` and `}}` stand for literal braces.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Template {
    pieces: Vec<Piece>,
}

/// Why a template was refused; `needle` is the source text to point the diagnostic at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    pub message: String,
    pub needle: Option<String>,
}

impl Template {
    /// Parses `text`, accepting only variables in `allowed`.
    pub fn parse(text: &str, allowed: &[Var]) -> Result<Template, TemplateError> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(index) = rest.find(['{', '}']) {
            literal.push_str(&rest[..index]);
            let tail = &rest[index..];
            if tail.starts_with("{{") || tail.starts_with("}}") {
                literal.push_str(&tail[..1]);
                rest = &tail[2..];
                continue;
            }
            if tail.starts_with('}') {
                return Err(TemplateError {
                    message: "unmatched `}` in template (write `}}` for a literal brace)"
                        .to_string(),
                    needle: None,
                });
            }
            let Some(close) = tail.find('}') else {
                return Err(TemplateError {
                    message: "unclosed `{` in template (write `{{` for a literal brace)"
                        .to_string(),
                    needle: None,
                });
            };
            let word = &tail[1..close];
            let needle = Some(tail[..=close].to_string());
            let Some(var) = Var::parse(word.trim()) else {
                return Err(TemplateError {
                    message: unknown_message(word, allowed),
                    needle,
                });
            };
            if !allowed.contains(&var) {
                return Err(TemplateError {
                    message: unknown_message(word, allowed),
                    needle,
                });
            }
            if !literal.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut literal)));
            }
            pieces.push(Piece::Var(var));
            rest = &tail[close + 1..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        Ok(Template { pieces })
    }

    /// Whether the template uses `var` (a welcome without `{rules}` need not render them).
    pub fn uses(&self, var: Var) -> bool {
        self.pieces.contains(&Piece::Var(var))
    }

    /// Fills the holes: `value` writes the text of a variable into the output.
    pub fn render(&self, value: impl FnMut(Var, &mut String)) -> String {
        self.render_with(|text, out| out.push_str(text), value)
    }

    /// Like [`Template::render`], passing the template's own text through `literal` (an HTML
    /// body escapes it, while a variable may bring its own markup).
    pub fn render_with(
        &self,
        literal: impl Fn(&str, &mut String),
        mut value: impl FnMut(Var, &mut String),
    ) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => literal(text, &mut out),
                Piece::Var(var) => value(*var, &mut out),
            }
        }
        out
    }
}

fn unknown_message(word: &str, allowed: &[Var]) -> String {
    let names: Vec<String> = allowed
        .iter()
        .map(|var| format!("{{{}}}", var.as_str()))
        .collect();
    format!(
        "unknown template variable `{{{word}}}`, expected one of: {}",
        names.join(", ")
    )
}

/// Parses a built-in default template; defaults are tested to parse, so a failure here would be
/// a bug in this crate, and yields the raw text rather than a panic.
pub(crate) fn builtin(text: &str, allowed: &[Var]) -> Template {
    Template::parse(text, allowed).unwrap_or_else(|_| Template {
        pieces: vec![Piece::Text(text.to_string())],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_renders_and_refuses() {
        let template = Template::parse(
            "欢迎 {name} 加入{group}！{{不是变量}}",
            &[Var::Name, Var::Group],
        )
        .unwrap();
        let text = template.render(|var, out| {
            out.push_str(if var == Var::Name {
                "小王"
            } else {
                "读书群"
            })
        });
        assert_eq!(text, "欢迎 小王 加入读书群！{不是变量}");

        let error = Template::parse("你好 {nmae}", &[Var::Name, Var::Group]).unwrap_err();
        assert_eq!(
            error.message,
            "unknown template variable `{nmae}`, expected one of: {name}, {group}"
        );
        assert_eq!(error.needle.as_deref(), Some("{nmae}"));
        // A real variable this template does not offer is refused the same way.
        assert!(Template::parse("{rules}", &[Var::Name]).is_err());
        assert!(Template::parse("oops {name", &[Var::Name]).is_err());
        assert!(Template::parse("oops }", &[Var::Name]).is_err());
    }
}
