//! The kinds of document the store keeps: one closed enum instead of a string per crate.
//!
//! A document is source text an operator (or a shipped default) saved under a kind and a name.
//! `as_str` is exactly the text the `documents` table has always held, so stored rows need no
//! migration; a stored text that is not one of these is an error at the storage boundary.

use serde::{Deserialize, Serialize};

string_enum! {
    /// What a stored document is, and so which crate parses its source.
    DocumentKind {
        Rules => "rules",
        SopPlan => "sop_plan",
        Campaign => "campaign",
        Play => "play",
        Flash => "flash",
        Race => "race",
        Poster => "poster",
        PosterBackground => "poster_background",
        Landing => "landing",
    }
}

impl std::str::FromStr for DocumentKind {
    type Err = crate::model::UnknownVariant;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        DocumentKind::parse(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_its_stored_text() {
        for kind in DocumentKind::ALL {
            assert_eq!(kind.as_str().parse::<DocumentKind>(), Ok(*kind));
            assert_eq!(kind.to_string(), kind.as_str());
            let json = serde_json::to_string(kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            assert_eq!(serde_json::from_str::<DocumentKind>(&json).unwrap(), *kind);
        }
    }

    #[test]
    fn the_stored_texts_are_the_ones_rows_already_hold() {
        let texts: Vec<&str> = DocumentKind::ALL.iter().map(|kind| kind.as_str()).collect();
        assert_eq!(
            texts,
            [
                "rules",
                "sop_plan",
                "campaign",
                "play",
                "flash",
                "race",
                "poster",
                "poster_background",
                "landing"
            ]
        );
    }

    #[test]
    fn an_unknown_kind_names_itself_and_the_known_ones() {
        let error = "rule".parse::<DocumentKind>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown DocumentKind `rule`, expected one of: rules, sop_plan, campaign, play, flash, race, poster, poster_background, landing"
        );
    }
}
