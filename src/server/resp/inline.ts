// The words of an inline command (a line typed into telnet or nc), read as Redis and Disque read
// them (sdssplitargs): blanks between words; "double quotes" with \n \r \t \b \a, \xHH and
// \<any> escapes; 'single quotes' with \' only; a quote may open mid-word (a"b c" is `ab c`),
// and a closing quote must end its word.

const escapes: Readonly<Record<string, string>> = { n: '\n', r: '\r', t: '\t', b: '\b', a: '\x07' };
const blank = /[ \t\n\r\v\f\0]/;
const hex = /^[0-9a-fA-F]{2}$/;

const isBlank = (c: string | undefined): boolean => c === undefined || blank.test(c);

/** The words of `line` (bytes as latin1), or null when a quote is not closed or not followed by a blank. */
export function inlineWords(line: string): string[] | null {
  const words: string[] = [];
  let i = 0;
  for (;;) {
    while (i < line.length && isBlank(line[i])) i++;
    if (i >= line.length) return words;
    let word = '';
    let quote: string | null = null;
    for (;;) {
      const c = line[i];
      if (quote === null) {
        if (isBlank(c)) break;
        if (c === '"' || c === "'") quote = c;
        else word += c;
        i++;
      } else if (c === undefined) {
        return null;
      } else if (c === quote) {
        i++;
        if (!isBlank(line[i])) return null;
        break;
      } else if (c === '\\' && quote === '"' && line[i + 1] === 'x' && hex.test(line.slice(i + 2, i + 4))) {
        word += String.fromCharCode(parseInt(line.slice(i + 2, i + 4), 16));
        i += 4;
      } else if (c === '\\' && quote === '"' && i + 1 < line.length) {
        const next = line[i + 1] as string;
        word += escapes[next] ?? next;
        i += 2;
      } else if (c === '\\' && quote === "'" && line[i + 1] === "'") {
        word += "'";
        i += 2;
      } else {
        word += c;
        i++;
      }
    }
    words.push(word);
  }
}
