//! What the bots, the bot runner and the chat service say in their own words (not a site's
//! knowledge or settings; the service's are the lines in the thread when an agent closes or
//! reopens a conversation), in the languages the widget speaks: English, Spanish, French, German, Portuguese and Arabic.
//! The language is the conversation's (`locale`, set by the widget), reduced to its primary
//! subtag (`pt-BR` → `pt`); anything else is English. A site's own `handoff_message` and
//! `fallback` are used as written.

/// A built-in line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phrase {
    /// The bot hands the conversation to a person.
    Handoff,
    /// The knowledge bot did not understand, the first time.
    Fallback,
    /// The conversation reached the bot's reply limit.
    LimitReached,
    /// The bot failed to answer and hands off.
    Trouble,
    /// The widget's bot cannot be built (misconfigured) and hands off.
    Unavailable,
    /// An agent closed the conversation (a line in the thread).
    Closed,
    /// An agent reopened the conversation (a line in the thread).
    Reopened,
}

/// The languages with their own lines, besides English.
const LANGUAGES: &[&str] = &["es", "fr", "de", "pt", "ar"];

/// `locale` as one of the languages above, or `en`.
pub fn language(locale: Option<&str>) -> &'static str {
    let primary = locale
        .and_then(|tag| tag.split(['-', '_']).next())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    LANGUAGES
        .iter()
        .find(|l| **l == primary)
        .copied()
        .unwrap_or("en")
}

/// The line for `phrase` in `locale`'s language.
pub fn phrase(phrase: Phrase, locale: Option<&str>) -> &'static str {
    use Phrase::*;
    match (language(locale), phrase) {
        ("es", Handoff) => "Voy a buscar a una persona para ti. Alguien te atenderá enseguida.",
        ("es", Fallback) => "No estoy seguro de haberte entendido. ¿Puedes decirlo de otra forma? O puedo buscarte a una persona: solo escribe \"humano\".",
        ("es", LimitReached) => "Has llegado al límite de respuestas automáticas. Voy a buscar a una persona para ti.",
        ("es", Trouble) => "Lo siento, tengo problemas para responder. Voy a buscar a una persona para ti.",
        ("es", Unavailable) => "Voy a buscar a una persona para ti.",
        ("es", Closed) => "La conversación se ha cerrado.",
        ("es", Reopened) => "La conversación se ha vuelto a abrir.",
        ("fr", Handoff) => "Je vous mets en relation avec une personne. Quelqu'un va vous répondre sous peu.",
        ("fr", Fallback) => "Je ne suis pas sûr d'avoir compris. Pouvez-vous reformuler ? Ou je peux vous mettre en relation avec une personne : écrivez simplement « humain ».",
        ("fr", LimitReached) => "Vous avez atteint la limite des réponses automatiques. Je vous mets en relation avec une personne.",
        ("fr", Trouble) => "Désolé, j'ai du mal à répondre. Je vous mets en relation avec une personne.",
        ("fr", Unavailable) => "Je vous mets en relation avec une personne.",
        ("fr", Closed) => "La conversation a été fermée.",
        ("fr", Reopened) => "La conversation a été rouverte.",
        ("de", Handoff) => "Ich hole einen Menschen für Sie. Gleich ist jemand für Sie da.",
        ("de", Fallback) => "Ich bin nicht sicher, ob ich Sie verstanden habe. Können Sie es anders formulieren? Oder ich hole Ihnen einen Menschen: Schreiben Sie einfach \"Mensch\".",
        ("de", LimitReached) => "Sie haben die Grenze der automatischen Antworten erreicht. Ich hole einen Menschen für Sie.",
        ("de", Trouble) => "Entschuldigung, ich habe Probleme beim Antworten. Ich hole einen Menschen für Sie.",
        ("de", Unavailable) => "Ich hole einen Menschen für Sie.",
        ("de", Closed) => "Das Gespräch wurde beendet.",
        ("de", Reopened) => "Das Gespräch wurde wieder geöffnet.",
        ("pt", Handoff) => "Vou chamar uma pessoa para você. Alguém vai atendê-lo em breve.",
        ("pt", Fallback) => "Não tenho certeza se entendi. Pode dizer de outra forma? Ou posso chamar uma pessoa: é só escrever \"humano\".",
        ("pt", LimitReached) => "Você atingiu o limite de respostas automáticas. Vou chamar uma pessoa para você.",
        ("pt", Trouble) => "Desculpe, estou com problemas para responder. Vou chamar uma pessoa para você.",
        ("pt", Unavailable) => "Vou chamar uma pessoa para você.",
        ("pt", Closed) => "A conversa foi encerrada.",
        ("pt", Reopened) => "A conversa foi reaberta.",
        ("ar", Handoff) => "سأحوّلك إلى أحد موظفينا. سيتواصل معك أحدهم قريبًا.",
        ("ar", Fallback) => "لست متأكدًا من أنني فهمتك. هل يمكنك إعادة الصياغة؟ أو يمكنني تحويلك إلى موظف: اكتب فقط \"موظف\".",
        ("ar", LimitReached) => "لقد بلغت حد الردود الآلية. سأحوّلك إلى أحد موظفينا.",
        ("ar", Trouble) => "عذرًا، أواجه مشكلة في الرد. سأحوّلك إلى أحد موظفينا.",
        ("ar", Unavailable) => "سأحوّلك إلى أحد موظفينا.",
        ("ar", Closed) => "تم إغلاق المحادثة.",
        ("ar", Reopened) => "تمت إعادة فتح المحادثة.",
        (_, Handoff) => "Let me get a human for you. Someone will be with you shortly.",
        (_, Fallback) => "I'm not sure I understood. Could you rephrase? Or I can get you a human: just say \"human\".",
        (_, LimitReached) => "You've reached the limit of automated replies. Let me get a human for you.",
        (_, Trouble) => "Sorry, I'm having trouble answering. Let me get a human for you.",
        (_, Unavailable) => "Let me get a human for you.",
        (_, Closed) => "The conversation was closed.",
        (_, Reopened) => "The conversation was reopened.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Phrase; 7] = [
        Phrase::Handoff,
        Phrase::Fallback,
        Phrase::LimitReached,
        Phrase::Trouble,
        Phrase::Unavailable,
        Phrase::Closed,
        Phrase::Reopened,
    ];

    #[test]
    fn every_language_has_every_line_of_its_own() {
        for language in LANGUAGES {
            for p in ALL {
                let line = phrase(p, Some(language));
                assert!(!line.is_empty());
                assert_ne!(line, phrase(p, None), "{language} {p:?} is translated");
            }
        }
    }

    #[test]
    fn the_language_is_the_primary_subtag_else_english() {
        assert_eq!(language(Some("pt-BR")), "pt");
        assert_eq!(language(Some("FR")), "fr");
        assert_eq!(language(Some("es_MX")), "es");
        assert_eq!(language(Some("nl")), "en");
        assert_eq!(language(None), "en");
        assert!(phrase(Phrase::Handoff, Some("de-AT")).contains("Menschen"));
    }
}
