//! What a mail says: the subject, a plain-text part and an HTML part (every value escaped), in
//! the visitor's language (the widget's, stored with the conversation; English otherwise), and
//! the message itself with its `From`, `To`, `Date` and `Message-ID`.

use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use parley_store::{Conversation, LinkPurpose, Message, SenderType};

/// The languages mails are written in (the widget's).
pub const LOCALES: [&str; 6] = ["en", "es", "fr", "de", "pt", "ar"];

/// The language to write to a conversation's visitor in: the widget's, when it is one of
/// [`LOCALES`] (`pt-BR` counts as `pt`), else English.
pub fn locale_of(conversation: &Conversation) -> &'static str {
    let wanted = conversation
        .locale
        .as_deref()
        .unwrap_or("en")
        .split(['-', '_'])
        .next()
        .unwrap_or("en")
        .to_ascii_lowercase();
    LOCALES
        .iter()
        .find(|l| **l == wanted)
        .copied()
        .unwrap_or("en")
}

/// The phrases of one language.
struct Phrases {
    replies_subject: &'static str,
    replies_intro: &'static str,
    transcript_subject: &'static str,
    transcript_intro: &'static str,
    open: &'static str,
    link_note: &'static str,
    you: &'static str,
    file: &'static str,
    footer: &'static str,
}

fn phrases(locale: &str) -> Phrases {
    match locale {
        "es" => Phrases {
            replies_subject: "Nueva respuesta de {widget}",
            replies_intro: "Esto es lo que {widget} te escribió mientras no estabas:",
            transcript_subject: "Tu conversación con {widget}",
            transcript_intro: "Aquí tienes una copia de tu conversación con {widget}.",
            open: "Continuar la conversación",
            link_note: "Este enlace abre la conversación en el chat en cualquier dispositivo durante 30 días. No lo reenvíes.",
            you: "Tú",
            file: "archivo",
            footer: "Recibes este correo porque diste esta dirección en el chat.",
        },
        "fr" => Phrases {
            replies_subject: "Nouvelle réponse de {widget}",
            replies_intro: "Voici ce que {widget} vous a écrit pendant votre absence :",
            transcript_subject: "Votre conversation avec {widget}",
            transcript_intro: "Voici une copie de votre conversation avec {widget}.",
            open: "Continuer la conversation",
            link_note: "Ce lien ouvre la conversation dans le chat sur n’importe quel appareil pendant 30 jours. Ne le transférez pas.",
            you: "Vous",
            file: "fichier",
            footer: "Vous recevez cet e-mail car vous avez donné cette adresse dans le chat.",
        },
        "de" => Phrases {
            replies_subject: "Neue Antwort von {widget}",
            replies_intro: "Das hat {widget} Ihnen geschrieben, während Sie weg waren:",
            transcript_subject: "Ihre Unterhaltung mit {widget}",
            transcript_intro: "Hier ist eine Kopie Ihrer Unterhaltung mit {widget}.",
            open: "Unterhaltung fortsetzen",
            link_note: "Dieser Link öffnet die Unterhaltung 30 Tage lang im Chat, auf jedem Gerät. Bitte nicht weiterleiten.",
            you: "Sie",
            file: "Datei",
            footer: "Sie erhalten diese E-Mail, weil Sie diese Adresse im Chat angegeben haben.",
        },
        "pt" => Phrases {
            replies_subject: "Nova resposta de {widget}",
            replies_intro: "Veja o que {widget} escreveu enquanto você estava fora:",
            transcript_subject: "Sua conversa com {widget}",
            transcript_intro: "Aqui está uma cópia da sua conversa com {widget}.",
            open: "Continuar a conversa",
            link_note: "Este link abre a conversa no chat em qualquer dispositivo durante 30 dias. Não o encaminhe.",
            you: "Você",
            file: "arquivo",
            footer: "Você recebe este e-mail porque informou este endereço no chat.",
        },
        "ar" => Phrases {
            replies_subject: "رد جديد من {widget}",
            replies_intro: "إليك ما كتبه {widget} أثناء غيابك:",
            transcript_subject: "محادثتك مع {widget}",
            transcript_intro: "إليك نسخة من محادثتك مع {widget}.",
            open: "متابعة المحادثة",
            link_note: "يفتح هذا الرابط المحادثة في الدردشة على أي جهاز لمدة 30 يومًا. لا تُعِد توجيهه.",
            you: "أنت",
            file: "ملف",
            footer: "تصلك هذه الرسالة لأنك أدخلت هذا العنوان في الدردشة.",
        },
        _ => Phrases {
            replies_subject: "New reply from {widget}",
            replies_intro: "Here is what {widget} wrote while you were away:",
            transcript_subject: "Your conversation with {widget}",
            transcript_intro: "Here is a copy of your conversation with {widget}.",
            open: "Continue the conversation",
            link_note: "This link opens the conversation in the chat on any device for 30 days. Do not forward it.",
            you: "You",
            file: "file",
            footer: "You receive this email because you gave this address in the chat.",
        },
    }
}

/// A mail's words, before it becomes a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Escapes text for HTML content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Which conversation mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConversationMail {
    Replies,
    Transcript,
}

/// A mail about a conversation: the agents' replies the visitor missed, or the transcript.
pub(crate) fn conversation_mail(
    which: ConversationMail,
    widget_name: &str,
    conversation: &Conversation,
    messages: &[Message],
    link: Option<&str>,
) -> Mail {
    let locale = locale_of(conversation);
    let words = phrases(locale);
    let fill = |phrase: &str| phrase.replace("{widget}", widget_name);
    let (subject, intro) = match which {
        ConversationMail::Replies => (fill(words.replies_subject), fill(words.replies_intro)),
        ConversationMail::Transcript => {
            (fill(words.transcript_subject), fill(words.transcript_intro))
        }
    };
    let author = |m: &Message| -> String {
        match m.sender_type {
            SenderType::Visitor => words.you.to_string(),
            SenderType::System => widget_name.to_string(),
            SenderType::Agent | SenderType::Bot => m
                .sender_name
                .clone()
                .unwrap_or_else(|| widget_name.to_string()),
        }
    };
    let body = |m: &Message| -> String {
        let mut body = m.message.clone();
        if let Some(name) = &m.attachment_name {
            if !body.is_empty() {
                body.push('\n');
            }
            body.push_str(&format!("[{}: {name}]", words.file));
        }
        body
    };
    let when = |m: &Message| m.created_at.format("%Y-%m-%d %H:%M UTC").to_string();

    let mut text = format!("{intro}\n\n");
    for m in messages {
        text.push_str(&format!("{} ({}):\n{}\n\n", author(m), when(m), body(m)));
    }
    if let Some(link) = link {
        text.push_str(&format!("{}: {link}\n{}\n\n", words.open, words.link_note));
    }
    text.push_str(&format!("-- \n{}\n", words.footer));

    let dir = if locale == "ar" { "rtl" } else { "ltr" };
    let mut html = format!(
        "<!DOCTYPE html>\n<html lang=\"{locale}\" dir=\"{dir}\"><head><meta charset=\"utf-8\">\
         <title>{}</title></head>\n<body style=\"font-family:sans-serif;line-height:1.5;color:#222\">\n\
         <p>{}</p>\n",
        escape(&subject),
        escape(&intro)
    );
    for m in messages {
        html.push_str(&format!(
            "<div style=\"margin:0 0 12px;padding:8px 12px;border-radius:8px;background:{}\">\
             <div style=\"font-size:12px;color:#666\"><strong>{}</strong> · {}</div>\
             <div style=\"white-space:pre-wrap\">{}</div></div>\n",
            if m.sender_type == SenderType::Visitor {
                "#eef3ff"
            } else {
                "#f3f3f3"
            },
            escape(&author(m)),
            escape(&when(m)),
            escape(&body(m))
        ));
    }
    if let Some(link) = link {
        html.push_str(&format!(
            "<p><a href=\"{}\" style=\"display:inline-block;padding:10px 16px;background:#2563eb;\
             color:#fff;border-radius:6px;text-decoration:none\">{}</a></p>\n\
             <p style=\"font-size:12px;color:#666\">{}</p>\n",
            escape(link),
            escape(words.open),
            escape(words.link_note)
        ));
    }
    html.push_str(&format!(
        "<p style=\"font-size:12px;color:#999\">{}</p>\n</body></html>\n",
        escape(words.footer)
    ));
    Mail {
        subject,
        text,
        html,
    }
}

/// An invitation or a reset link for a person of the team (in English: the team's language is
/// not known).
pub(crate) fn account_link_mail(purpose: LinkPurpose, name: &str, url: &str) -> Mail {
    let (subject, intro, action, valid) = match purpose {
        LinkPurpose::Reset => (
            "Choose a new Parley password",
            "A new password was asked for your Parley account.",
            "Choose a new password",
            "The link works once, for 24 hours. If you did not expect it, ignore this email.",
        ),
        _ => (
            "You are invited to answer chats on Parley",
            "You have been invited to join the team that answers the site's chats.",
            "Choose your password",
            "The link works once, for 7 days.",
        ),
    };
    let greeting = format!("Hello {name},");
    let text = format!("{greeting}\n\n{intro}\n\n{action}: {url}\n\n{valid}\n");
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title></head>\n\
         <body style=\"font-family:sans-serif;line-height:1.5;color:#222\">\n<p>{}</p>\n<p>{}</p>\n\
         <p><a href=\"{}\">{}</a></p>\n<p style=\"font-size:12px;color:#666\">{}</p>\n</body></html>\n",
        escape(subject),
        escape(&greeting),
        escape(intro),
        escape(url),
        escape(action),
        escape(valid)
    );
    Mail {
        subject: subject.to_string(),
        text,
        html,
    }
}

/// The message to send: multipart/alternative with the text part first (the fallback) and the
/// HTML part last (the preferred), with `Date` now and the given `Message-ID`.
pub(crate) fn message(
    from: &Mailbox,
    to: &str,
    message_id: &str,
    mail: &Mail,
) -> Result<lettre::Message, String> {
    let to: Mailbox = to
        .parse()
        .map_err(|e| format!("the recipient {to:?} is not an address: {e}"))?;
    lettre::Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject.clone())
        .date_now()
        .message_id(Some(message_id.to_string()))
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(mail.text.clone()),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(mail.html.clone()),
                ),
        )
        .map_err(|e| format!("cannot build the message: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape("<b a=\"1\">Tom & 'Jerry'</b>"),
            "&lt;b a=&quot;1&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/b&gt;"
        );
        let mail = account_link_mail(
            LinkPurpose::Invite,
            "<script>x</script>",
            "https://chat.test/dashboard#invite=a&b",
        );
        assert!(mail.html.contains("&lt;script&gt;x&lt;/script&gt;"));
        assert!(!mail.html.contains("<script>"));
        assert!(mail.html.contains("#invite=a&amp;b"));
        assert!(mail.text.contains("#invite=a&b"));
    }
}
