import { numberPlaceholders } from '../../../src/store/postgres-store';

describe('numberPlaceholders', () => {
  it('numbers each ? in order', () => {
    expect(numberPlaceholders('SELECT * FROM t WHERE a = ? AND b IN (?, ?)')).toBe(
      'SELECT * FROM t WHERE a = $1 AND b IN ($2, $3)',
    );
  });

  it('leaves a ? inside a string, a quoted name or a comment alone', () => {
    expect(
      numberPlaceholders(`SELECT 'a ? ''b?''', "c?" -- d ?\n, ? /* e ? */ FROM t WHERE x = ?`),
    ).toBe(`SELECT 'a ? ''b?''', "c?" -- d ?\n, $1 /* e ? */ FROM t WHERE x = $2`);
  });

  it('keeps an unclosed literal or comment as it is, to the end', () => {
    expect(numberPlaceholders(`SELECT ?, 'open ?`)).toBe(`SELECT $1, 'open ?`);
    expect(numberPlaceholders('SELECT ? /* open ?')).toBe('SELECT $1 /* open ?');
  });
});
