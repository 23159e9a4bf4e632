//! `qunzhu lottery …`: open, list and draw lotteries, print their entries, and verify a draw —
//! from a revealed seed and an entry file with no database at all, or from a stored lottery.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Subcommand;
use qunzhu_domain::{Clock, Platform, SystemClock};
use qunzhu_growth::lottery::{self, ChanceRule, PrizeTier, Seed};
use serde::Deserialize;

use crate::config::Config;

#[derive(Subcommand)]
pub enum LotteryCommand {
    /// Re-run a draw and print its winners: from `--seed` and `--entries` (no database), or
    /// from a stored lottery with `--lottery`.
    Verify {
        /// The seed revealed after the draw (64 hex digits).
        #[arg(long, requires = "entries", conflicts_with = "lottery")]
        seed: Option<String>,
        /// The entry list: `member chances` per line (`qunzhu lottery entries` prints it).
        #[arg(long, requires = "seed")]
        entries: Option<PathBuf>,
        /// How many winners the prizes call for.
        #[arg(long, default_value_t = 1)]
        winners: u32,
        /// The SHA-256 published before entries closed, to check the seed against.
        #[arg(long)]
        commitment: Option<String>,
        /// A stored lottery's id.
        #[arg(long, required_unless_present = "seed")]
        lottery: Option<i64>,
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Print a ready-made lottery file (`invite`: each invite = one chance, article 001).
    Template {
        #[arg(default_value = "invite")]
        name: String,
    },
    /// Open a lottery from a file (see `template`); its seed's hash is posted in the group.
    Create {
        file: PathBuf,
        /// Idempotency key: the same id twice opens one lottery.
        #[arg(long)]
        request: String,
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// The workspace's lotteries, newest first.
    List {
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// A lottery's entries as `verify --entries` reads them (as drawn, or the standing now).
    Entries {
        id: i64,
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Draw a closed lottery and pay its prizes (again: finishes an interrupted draw).
    Draw {
        id: i64,
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
}

/// A lottery file: what `create` reads and `template` prints.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LotteryFile {
    name: String,
    platform: String,
    chat: String,
    campaign: Option<String>,
    pool: Option<String>,
    /// RFC 3339, e.g. `2026-12-08T20:00:00+08:00`.
    closes_at: String,
    pub(crate) rules: Vec<ChanceRule>,
    pub(crate) prizes: Vec<PrizeTier>,
}

/// Each invite = one lottery chance (001), with two ways to buy more.
pub const INVITE_TEMPLATE: &str = r#"# 邀请抽奖 (article 001): each member you bring into the group is one chance.
# Chances count invites made after the lottery opens, by invitees still in the group.
name = "邀请好友抽大奖"
platform = "matrix"
chat = "!room:example.org"
# campaign = "spring"        # count only invites through this campaign's links
# pool = "spring"            # pay point prizes from this reward pool (checked to cover them)
closes_at = "2026-12-08T20:00:00+08:00"

[[rules]]
per = "invite"
chances = 1

[[rules]]
per = "points"
points = 100                 # one more chance per 100 points spent

[[prizes]]
name = "一等奖"
count = 1
prize = { type = "points", points = 500 }

[[prizes]]
name = "二等奖"
count = 3
prize = { type = "coupon", offer = { type = "amount_off", cents = 2000 }, valid_days = 30 }
"#;

pub(crate) fn parse_file(text: &str) -> anyhow::Result<LotteryFile> {
    Ok(toml::from_str(text)?)
}

pub async fn run(
    command: LotteryCommand,
    load: fn(Option<&std::path::Path>) -> anyhow::Result<Config>,
) -> anyhow::Result<()> {
    match command {
        LotteryCommand::Verify {
            seed: Some(seed),
            entries: Some(path),
            winners,
            commitment,
            ..
        } => {
            let seed = Seed::parse(&seed)?;
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let entries =
                lottery::parse_entries(&text).with_context(|| format!("{}", path.display()))?;
            check_commitment(&seed, commitment.as_deref())?;
            print_winners(&lottery::draw(&seed, &entries, winners));
            Ok(())
        }
        LotteryCommand::Verify {
            lottery: Some(id),
            config,
            commitment,
            ..
        } => {
            let (ops, actor) = ops(load(config.as_deref())?).await?;
            let view = ops.lottery(&actor, id).await?;
            let (Some(seed), Some(drawn)) = (&view.seed, &view.lottery.drawn) else {
                anyhow::bail!("lottery {id} is not drawn yet; its seed stays secret until then");
            };
            let seed = Seed::parse(seed)?;
            check_commitment(
                &seed,
                Some(
                    commitment
                        .as_deref()
                        .unwrap_or(&view.lottery.body.commitment),
                ),
            )?;
            let wanted = lottery::winners_wanted(&view.lottery.body.prizes);
            let winners = lottery::draw(&seed, &drawn.entries, wanted);
            print_winners(&winners);
            if winners != drawn.winners {
                anyhow::bail!(
                    "the stored winners differ from the re-run: {}",
                    drawn.winners.join(", ")
                );
            }
            println!("matches the recorded draw");
            Ok(())
        }
        LotteryCommand::Verify { .. } => {
            anyhow::bail!("give --seed with --entries, or --lottery")
        }
        LotteryCommand::Template { name } => match name.as_str() {
            "invite" => {
                print!("{INVITE_TEMPLATE}");
                Ok(())
            }
            other => anyhow::bail!("no lottery template `{other}`; the templates are: invite"),
        },
        LotteryCommand::Create {
            file,
            request,
            config,
        } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let parsed = parse_file(&text).with_context(|| format!("{}", file.display()))?;
            let platform = Platform::parse(&parsed.platform)
                .map_err(|error| anyhow::anyhow!("{}: platform: {error}", file.display()))?;
            let closes_at = chrono::DateTime::parse_from_rfc3339(&parsed.closes_at)
                .map_err(|error| {
                    anyhow::anyhow!(
                        "{}: closes_at: `{}` is not an RFC 3339 time ({error})",
                        file.display(),
                        parsed.closes_at
                    )
                })?
                .to_utc();
            let (ops, actor) = ops(load(config.as_deref())?).await?;
            let view = ops
                .create_lottery(
                    &actor,
                    qunzhu_ops::CreateLottery {
                        name: parsed.name,
                        platform,
                        chat: parsed.chat,
                        campaign: parsed.campaign,
                        rules: parsed.rules,
                        prizes: parsed.prizes,
                        pool: parsed.pool,
                        closes_at,
                        request,
                    },
                )
                .await?;
            println!(
                "lottery {} opened; closes {}; commitment (posted in the group) {}",
                view.lottery.id, view.lottery.body.closes_at, view.lottery.body.commitment
            );
            Ok(())
        }
        LotteryCommand::List { config } => {
            let (ops, actor) = ops(load(config.as_deref())?).await?;
            let all = ops.lotteries(&actor, 100).await?;
            if all.is_empty() {
                println!("no lotteries yet");
            }
            for view in all {
                let state = match (&view.lottery.drawn, view.open) {
                    (Some(drawn), _) => format!("drawn, winners {}", drawn.winners.join(", ")),
                    (None, true) => "open".to_string(),
                    (None, false) => "closed, not drawn".to_string(),
                };
                println!(
                    "{}  {}  {}  closes {}  {state}",
                    view.lottery.id,
                    view.lottery.body.name,
                    view.lottery.body.chat,
                    view.lottery.body.closes_at
                );
            }
            Ok(())
        }
        LotteryCommand::Entries { id, config } => {
            let (ops, actor) = ops(load(config.as_deref())?).await?;
            let entries = ops.lottery_entries(&actor, id).await?;
            print!("{}", lottery::format_entries(&entries));
            Ok(())
        }
        LotteryCommand::Draw { id, config } => {
            let (ops, actor) = ops(load(config.as_deref())?).await?;
            let outcome = ops.draw_lottery(&actor, id).await?;
            if !outcome.fresh {
                println!("lottery {id} was already drawn; unpaid prizes, if any, are paid now");
            }
            for (member, tier) in &outcome.awarded {
                println!("{tier}  {member}");
            }
            if outcome.awarded.is_empty() {
                println!("no winners (nobody had a chance)");
            }
            println!("seed {}", outcome.lottery.seed.unwrap_or_default());
            Ok(())
        }
    }
}

async fn ops(config: Config) -> anyhow::Result<(qunzhu_ops::Ops, qunzhu_ops::Actor)> {
    let store = crate::open::store(&config).await?;
    let workspace = crate::app::ensure_workspace(&*store, &config).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    Ok((
        qunzhu_ops::Ops::new(store, clock),
        qunzhu_ops::Actor::cli(workspace.id),
    ))
}

fn check_commitment(seed: &Seed, commitment: Option<&str>) -> anyhow::Result<()> {
    if let Some(commitment) = commitment {
        if !seed.matches(commitment) {
            anyhow::bail!(
                "the seed does not match the published commitment: its SHA-256 is {}, not {commitment}",
                seed.commitment()
            );
        }
        println!("seed matches the commitment {}", seed.commitment());
    }
    Ok(())
}

fn print_winners(winners: &[String]) {
    if winners.is_empty() {
        println!("no winners (nobody had a chance)");
    }
    for (place, winner) in winners.iter().enumerate() {
        println!("{}. {winner}", place + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_invite_template_is_a_valid_lottery_file() {
        let parsed = parse_file(INVITE_TEMPLATE).unwrap();
        assert_eq!(parsed.rules[0], ChanceRule::Invite { chances: 1 });
        lottery::check_prizes(&parsed.prizes, None).unwrap();
        assert!(Platform::parse(&parsed.platform).is_ok());
        assert!(chrono::DateTime::parse_from_rfc3339(&parsed.closes_at).is_ok());
    }

    #[test]
    fn a_typo_in_a_lottery_file_names_its_line() {
        let text = INVITE_TEMPLATE.replace("count = 1", "cuont = 1");
        let error = parse_file(&text).unwrap_err().to_string();
        assert!(error.contains("line 20"), "{error}");
        assert!(error.contains("cuont"), "{error}");
    }
}
