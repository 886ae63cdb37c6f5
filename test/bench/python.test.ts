// Finding the Python reference; no Python is needed to run these.
import { describe, expect, test } from 'vitest';
import { findPython, pythonCandidates } from '../../lib/bench/python.js';

describe('findPython', () => {
  test('an explicit path is the only candidate', () => {
    expect(pythonCandidates('/opt/python3')).toEqual(['/opt/python3']);
  });

  test('auto tries NODE_PEFT_PYTHON first, then python3', () => {
    const saved = process.env.NODE_PEFT_PYTHON;
    process.env.NODE_PEFT_PYTHON = '/somewhere/python';
    try {
      expect(pythonCandidates('auto').slice(0, 2)).toEqual(['/somewhere/python', 'python3']);
    } finally {
      if (saved === undefined) delete process.env.NODE_PEFT_PYTHON;
      else process.env.NODE_PEFT_PYTHON = saved;
    }
  });

  test('a Python that cannot run says why and what to install', () => {
    const found = findPython('/nonexistent/python3');
    expect('path' in found).toBe(false);
    if ('path' in found) return;
    expect(found.tried[0]).toMatch(/^\/nonexistent\/python3: .*ENOENT/);
    expect(found.hint).toMatch(/pip install torch==2\.13\.0/);
  });
});
