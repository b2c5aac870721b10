//! The Markdown knowledge format: `## question` headings, each followed by its answer (see the
//! parent module for the rules). Written by hand rather than with a Markdown parser because only
//! headings and code fences matter, and the answer's Markdown must come back exactly as written.

use super::{Entry, KnowledgeError};

/// Parses Markdown knowledge. `origin` names the source in error messages.
pub fn parse_markdown(origin: &str, text: &str) -> Result<Vec<Entry>, KnowledgeError> {
    let malformed = |line: usize, message: String| KnowledgeError::Malformed {
        origin: origin.to_owned(),
        line: Some(line),
        message,
    };
    let mut entries = Vec::new();
    // Questions waiting for their answer, with the line of the first one, and the answer so far.
    let mut questions: Vec<String> = Vec::new();
    let mut question_line = 0;
    let mut answer: Vec<&str> = Vec::new();
    let mut fence: Option<&str> = None;

    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if let Some(marker) = fence {
            if line.trim_start().starts_with(marker) {
                fence = None;
            }
            if !questions.is_empty() {
                answer.push(line);
            }
            continue;
        }
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            fence = Some(&trimmed[..3]);
        }
        match heading(line) {
            Some((2, title)) => {
                if title.is_empty() {
                    return Err(malformed(number, "an empty `##` heading".into()));
                }
                if !is_blank(&answer) {
                    entries.push(finish(&mut questions, &mut answer));
                }
                if questions.is_empty() {
                    question_line = number;
                }
                // No answer since the previous heading: another phrasing of the same question.
                answer.clear();
                questions.push(title.to_owned());
            }
            // A title ends the section (and is no part of an answer).
            Some((1, _)) if !questions.is_empty() => {
                if is_blank(&answer) {
                    return Err(unanswered(origin, question_line, &questions));
                }
                entries.push(finish(&mut questions, &mut answer));
            }
            _ if !questions.is_empty() => answer.push(line),
            _ => {}
        }
    }
    if !questions.is_empty() {
        if is_blank(&answer) {
            return Err(unanswered(origin, question_line, &questions));
        }
        entries.push(finish(&mut questions, &mut answer));
    }
    if entries.is_empty() {
        return Err(KnowledgeError::Malformed {
            origin: origin.to_owned(),
            line: None,
            message: "no `## question` headings with answers found".into(),
        });
    }
    Ok(entries)
}

/// An ATX heading's level and text (closing `#`s removed), if `line` is one. Up to three spaces
/// of indentation, as in CommonMark; `#hashtag` (no space) is not a heading.
fn heading(line: &str) -> Option<(usize, &str)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent > 3 {
        return None;
    }
    let rest = &line[indent..];
    let level = rest.len() - rest.trim_start_matches('#').len();
    if level == 0 || level > 6 {
        return None;
    }
    let after = &rest[level..];
    if !after.is_empty() && !after.starts_with([' ', '\t']) {
        return None;
    }
    let title = after.trim().trim_end_matches('#').trim_end();
    Some((level, title))
}

fn is_blank(lines: &[&str]) -> bool {
    lines.iter().all(|l| l.trim().is_empty())
}

fn finish(questions: &mut Vec<String>, answer: &mut Vec<&str>) -> Entry {
    let text = answer.join("\n").trim().to_owned();
    answer.clear();
    Entry {
        questions: std::mem::take(questions),
        answer: text,
    }
}

fn unanswered(origin: &str, line: usize, questions: &[String]) -> KnowledgeError {
    KnowledgeError::Malformed {
        origin: origin.to_owned(),
        line: Some(line),
        message: format!("the question {:?} has no answer", questions[0]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings() {
        assert_eq!(heading("## Hi"), Some((2, "Hi")));
        assert_eq!(heading("   ## Hi ##"), Some((2, "Hi")));
        assert_eq!(heading("# Title"), Some((1, "Title")));
        assert_eq!(heading("##"), Some((2, "")));
        assert_eq!(heading("#hashtag"), None);
        assert_eq!(heading("    ## code"), None);
        assert_eq!(heading("####### seven"), None);
    }

    #[test]
    fn fenced_headings_stay_in_the_answer() {
        let text = "## How?\nLike this:\n```\n## not a question\n```\nDone.\n";
        let entries = parse_markdown("t", text).expect("parses");
        assert_eq!(entries.len(), 1);
        assert!(entries[0].answer.contains("## not a question"));
    }
}
