//! Recognising a visitor's request for a person, shared by every bot (and the widget's "talk to
//! a human" button, which sends `/human`).
//!
//! Matching is on whole words of the lower-cased text, so "humane" or "agenda" never hand off,
//! while "HUMAN please", "can I talk to someone?" and "a real person!" do. A short list of words
//! and phrases is enough here: a false positive costs an agent a glance, a false negative leaves
//! a visitor stuck, and the "unsure twice" rule catches most of what the list misses.

/// Words that on their own ask for a person.
const WORDS: &[&str] = &[
    "human",
    "humans",
    "agent",
    "agents",
    "operator",
    "operators",
    "representative",
    "representatives",
    // The widget's other languages: the word its built-in lines tell visitors to type, and the
    // usual ones.
    "humano",
    "humanos",
    "agente",
    "operador",
    "humain",
    "humains",
    "conseiller",
    "mensch",
    "atendente",
    "موظف",
];

/// Phrases (sequences of whole words) that ask for a person.
const PHRASES: &[&[&str]] = &[
    &["real", "person"],
    &["live", "person"],
    &["actual", "person"],
    &["real", "people"],
    &["live", "support"],
    &["customer", "service"],
    &["customer", "support"],
    &["support", "team"],
    &["talk", "to", "someone"],
    &["talk", "with", "someone"],
    &["speak", "to", "someone"],
    &["speak", "with", "someone"],
    &["talk", "to", "somebody"],
    &["speak", "to", "somebody"],
    &["talk", "to", "a", "person"],
    &["speak", "to", "a", "person"],
    &["someone", "real"],
    &["una", "persona"],
    &["persona", "real"],
    &["une", "personne"],
    &["vraie", "personne"],
    &["echten", "menschen"],
    &["uma", "pessoa"],
    &["pessoa", "real"],
];

/// Whether `text` asks for a human: "human", "agent", "real person", "talk to someone",
/// "operator", …, case-insensitive and on word boundaries; `/human` is the widget's button.
pub fn wants_human(text: &str) -> bool {
    let trimmed = text.trim();
    if trimmed.eq_ignore_ascii_case("/human") {
        return true;
    }
    let lower = trimmed.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    if words.iter().any(|w| WORDS.contains(w)) {
        return true;
    }
    PHRASES
        .iter()
        .any(|phrase| words.windows(phrase.len()).any(|window| window == *phrase))
}

#[cfg(test)]
mod tests {
    use super::wants_human;

    #[test]
    fn asks_for_a_person() {
        for text in [
            "/human",
            "/HUMAN ",
            "human",
            "HUMAN please",
            "Can I talk to someone?",
            "I want a real person!",
            "get me an agent",
            "operator",
            "speak with someone please",
            "customer service",
            "quiero hablar con una persona",
            "HUMANO",
            "je veux parler à une personne",
            "un humain svp",
            "Mensch bitte",
            "quero falar com uma pessoa",
            "أريد موظف",
        ] {
            assert!(wants_human(text), "{text:?}");
        }
    }

    #[test]
    fn ordinary_questions_do_not() {
        for text in [
            "How do I embed the widget?",
            "what is on the agenda",
            "that was humane",
            "someone told me it's free",
            "is it free for personal use?",
            "does parley do live chat?",
            "how many widgets can a person create?",
            "",
        ] {
            assert!(!wants_human(text), "{text:?}");
        }
    }
}
