// ui/uploads.js — owns what a refused upload means, for the widget and the dashboard alike, so
// each can say it in its own words with the file's name ("photo.png is too large (max 10 MB)")
// rather than show the server's text: the status says what went wrong, whatever the body.

/**
 * Why the server refused a file: 'too_large' (413), 'type' (415: a kind of file it does not
 * take), 'empty' (422 about an empty file), 'refused' (any other 4xx that sending again cannot
 * fix); null when trying again may help (no answer, 5xx, 429) or it is not an upload's failure.
 */
export function uploadProblem(error) {
  const status = error?.status;
  if (status === 413) return 'too_large';
  if (status === 415) return 'type';
  if (status === 422 && /empty/i.test(error?.message || '')) return 'empty';
  if (status >= 400 && status < 500 && ![401, 403, 404, 408, 409, 425, 429].includes(status)) return 'refused';
  return null;
}

/** `bytes` as whole megabytes for "max 10 MB" (one decimal below 1 MB's multiples). */
export function megabytes(bytes) {
  return +(bytes / 1048576).toFixed(1);
}
