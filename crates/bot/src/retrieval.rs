//! Finding the entries that answer a message: an in-RAM tantivy index ranked by BM25, and a
//! confidence in 0..1 for the best one.
//!
//! BM25 scores are unbounded and depend on the corpus and the query's length, so they cannot be
//! compared with a fixed threshold. The confidence normalises instead by what the query asked:
//! the share of the query's informative weight (IDF) that the best entry covers, so a message
//! whose distinctive words ("bake", "cake") appear nowhere scores low even when a common word
//! ("widget") matches. It is then lowered a little when the runner-up scores almost as high,
//! since two equally good entries mean the question is ambiguous.
//!
//! Text goes through the same analyzer for indexing and querying: simple tokens, lower case,
//! ASCII folding, English stop words removed (they carry no meaning for matching and would
//! otherwise make "how do I …" match every "how do I" question), Snowball English stemming.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TantivyDocument, TextFieldIndexing, TextOptions, Value,
    STORED,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, StopWordFilter,
    TextAnalyzer, Token, TokenFilter, TokenStream, Tokenizer,
};
use tantivy::{doc, Index, IndexWriter, ReloadPolicy, Searcher, Term};

use crate::knowledge::{Entry, KnowledgeError};

const ANALYZER: &str = "parley_en";
/// A question's words count double: they are what visitors' messages resemble.
const QUESTION_BOOST: f32 = 2.0;
/// tantivy's smallest indexing budget; the knowledge is far smaller.
const WRITER_BUDGET: usize = 15_000_000;

const STOP_WORDS: &[&str] = &[
    "a", "about", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be", "been", "but",
    "by", "can", "could", "d", "did", "do", "does", "doesn", "don", "for", "from", "had", "has",
    "have", "he", "her", "here", "him", "his", "how", "i", "if", "in", "into", "is", "isn", "it",
    "its", "just", "ll", "m", "me", "might", "my", "no", "not", "of", "on", "or", "our", "please",
    "re", "s", "she", "should", "so", "some", "t", "than", "that", "the", "their", "them", "then",
    "there", "these", "they", "this", "those", "to", "ve", "was", "we", "were", "what", "when",
    "where", "which", "who", "whom", "why", "will", "with", "would", "you", "your",
];

/// One knowledge base, indexed. Immutable: a reload builds a new one.
pub(crate) struct Retriever {
    entries: Vec<Entry>,
    /// Per entry, its analysed terms (questions and answer), for the coverage measure.
    terms: Vec<HashSet<String>>,
    analyzer: TextAnalyzer,
    searcher: Searcher,
    question: Field,
    answer: Field,
    id: Field,
}

/// An entry the search found, best first.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hit<'a> {
    /// The entry's position in the knowledge.
    pub index: usize,
    pub entry: &'a Entry,
    pub score: f32,
}

fn index_error(e: tantivy::TantivyError) -> KnowledgeError {
    KnowledgeError::Index(e.to_string())
}

fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(StopWordFilter::remove(
            STOP_WORDS.iter().map(|w| w.to_string()),
        ))
        .filter(EnglishStemmer)
        .build()
}

impl Retriever {
    pub(crate) fn build(entries: Vec<Entry>) -> Result<Self, KnowledgeError> {
        let text = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(ANALYZER)
                .set_index_option(IndexRecordOption::WithFreqs),
        );
        let mut schema = Schema::builder();
        let question = schema.add_text_field("question", text.clone());
        let answer = schema.add_text_field("answer", text);
        let id = schema.add_u64_field("id", STORED);
        let index = Index::create_in_ram(schema.build());
        index.tokenizers().register(ANALYZER, analyzer());

        let mut writer: IndexWriter = index
            .writer_with_num_threads(1, WRITER_BUDGET)
            .map_err(index_error)?;
        for (i, entry) in entries.iter().enumerate() {
            writer
                .add_document(doc!(
                    question => entry.questions.join("\n"),
                    answer => entry.answer.clone(),
                    id => i as u64,
                ))
                .map_err(index_error)?;
        }
        writer.commit().map_err(index_error)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(index_error)?;

        let mut analyzer = analyzer();
        let terms = entries
            .iter()
            .map(|e| {
                let mut set = analyse(&mut analyzer, &e.questions.join("\n"));
                set.extend(analyse(&mut analyzer, &e.answer));
                set
            })
            .collect();
        Ok(Retriever {
            entries,
            terms,
            analyzer,
            searcher: reader.searcher(),
            question,
            answer,
            id,
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The analysed, distinct terms of `text`.
    fn query_terms(&self, text: &str) -> Vec<String> {
        let mut analyzer = self.analyzer.clone();
        let mut seen = HashSet::new();
        let mut terms = Vec::new();
        let mut stream = analyzer.token_stream(text);
        while stream.advance() {
            let term = &stream.token().text;
            if seen.insert(term.clone()) {
                terms.push(term.clone());
            }
        }
        terms
    }

    /// Up to `limit` entries matching `text`, best first, by BM25.
    pub(crate) fn search(&self, text: &str, limit: usize) -> Result<Vec<Hit<'_>>, KnowledgeError> {
        let terms = self.query_terms(text);
        if terms.is_empty() || limit == 0 || self.entries.is_empty() {
            return Ok(Vec::new());
        }
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for term in &terms {
            let q = TermQuery::new(
                Term::from_field_text(self.question, term),
                IndexRecordOption::WithFreqs,
            );
            clauses.push((
                Occur::Should,
                Box::new(BoostQuery::new(Box::new(q), QUESTION_BOOST)),
            ));
            let a = TermQuery::new(
                Term::from_field_text(self.answer, term),
                IndexRecordOption::WithFreqs,
            );
            clauses.push((Occur::Should, Box::new(a)));
        }
        let query = BooleanQuery::new(clauses);
        let top = self
            .searcher
            .search(&query, &TopDocs::with_limit(limit).order_by_score())
            .map_err(index_error)?;
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let doc: TantivyDocument = self.searcher.doc(address).map_err(index_error)?;
            let index = doc
                .get_first(self.id)
                .and_then(|v| v.as_u64())
                .and_then(|i| usize::try_from(i).ok())
                .filter(|&i| i < self.entries.len());
            if let Some(index) = index {
                let entry = &self.entries[index];
                hits.push(Hit {
                    index,
                    entry,
                    score,
                });
            }
        }
        Ok(hits)
    }

    /// The best entry for `text` and the confidence (0..1) that it answers it.
    pub(crate) fn best_match(&self, text: &str) -> Result<Option<(&Entry, f32)>, KnowledgeError> {
        let hits = self.search(text, 2)?;
        let Some(best) = hits.first() else {
            return Ok(None);
        };
        let coverage = self.coverage(text, best.index);
        // 1 when the best entry stands alone, 0 when the runner-up ties with it.
        let separation = match hits.get(1) {
            Some(second) if best.score > 0.0 => 1.0 - (second.score / best.score).min(1.0),
            _ => 1.0,
        };
        Ok(Some((best.entry, coverage * (0.8 + 0.2 * separation))))
    }

    /// The IDF-weighted share of the query's terms that `entry` contains. A term no entry has
    /// gets the highest weight: a word the knowledge never mentions is the strongest sign the
    /// question is about something else.
    fn coverage(&self, text: &str, index: usize) -> f32 {
        let n = self.entries.len() as f32;
        let (mut matched, mut total) = (0.0f32, 0.0f32);
        for term in self.query_terms(text) {
            let df = self.terms.iter().filter(|t| t.contains(&term)).count() as f32;
            let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
            total += idf;
            if self.terms[index].contains(&term) {
                matched += idf;
            }
        }
        if total > 0.0 {
            matched / total
        } else {
            0.0
        }
    }
}

fn analyse(analyzer: &mut TextAnalyzer, text: &str) -> HashSet<String> {
    let mut set = HashSet::new();
    let mut stream = analyzer.token_stream(text);
    while stream.advance() {
        set.insert(stream.token().text.clone());
    }
    set
}

impl fmt::Debug for Retriever {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Retriever")
            .field("entries", &self.entries.len())
            .finish_non_exhaustive()
    }
}

/// Snowball English stemming as a tantivy token filter, so "embedding", "embedded" and "embed"
/// meet. tantivy's own `stemmer` feature compiles all 41 Snowball languages; this needs one.
#[derive(Clone, Copy)]
struct EnglishStemmer;

impl TokenFilter for EnglishStemmer {
    type Tokenizer<T: Tokenizer> = StemmerWrapper<T>;

    fn transform<T: Tokenizer>(self, inner: T) -> StemmerWrapper<T> {
        StemmerWrapper { inner }
    }
}

#[derive(Clone)]
struct StemmerWrapper<T> {
    inner: T,
}

impl<T: Tokenizer> Tokenizer for StemmerWrapper<T> {
    type TokenStream<'a> = StemmerStream<T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        StemmerStream {
            tail: self.inner.token_stream(text),
            stemmer: frostem::Stemmer::new(frostem::Algorithm::English),
        }
    }
}

struct StemmerStream<T> {
    tail: T,
    stemmer: frostem::Stemmer,
}

impl<T: TokenStream> TokenStream for StemmerStream<T> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        let token = self.tail.token_mut();
        let replacement = match self.stemmer.stem(&token.text) {
            Cow::Owned(stemmed) => Some(stemmed),
            // Unchanged words come back borrowed; copy only when the stem differs.
            Cow::Borrowed(stemmed) if stemmed.len() == token.text.len() => None,
            Cow::Borrowed(stemmed) => Some(stemmed.to_owned()),
        };
        if let Some(stemmed) = replacement {
            token.text = stemmed;
        }
        true
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}
