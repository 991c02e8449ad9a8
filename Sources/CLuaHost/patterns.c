/*
** string.find, string.match, string.gmatch and string.gsub with Lua 5.4's semantics, for
** the sandbox. The stock pattern matcher is a recursive C function that can backtrack for
** minutes on a hostile pattern, and the instruction hook never runs inside C, so such a call
** cannot be interrupted. This matcher explores the same alternatives in the same order, so
** every result and error is the stock one, but it charges each step to the running call's
** budget (clua_charge), which stops a runaway match with "instruction budget exceeded".
**
** Model. The stock matcher is a function match(s, p) whose activations nest: each capture
** open or close, each '*', '+', '-' and each '?' whose item matched continues the rest of
** the pattern in a nested activation, and everything else advances s and p within the same
** activation. Here the nesting is an explicit stack of frames, one per pending nested
** activation, recording what the parent does when that activation fails: undo a capture,
** give back one repetition ('*', '+'), take one more ('-'), or go on without the optional
** item ('?'). When an activation succeeds the whole match succeeds (every stock activation
** returns its child's result unchanged), so only failures walk the stack.
**
** Depth. The stock matcher allows MAXDEPTH nested activations and raises "pattern too
** complex" on entering one more; the stack depth here is exactly that nesting, so the same
** inputs fail the same way. Every nested activation starts further into the pattern than
** its parent, so the nesting never exceeds the pattern's length plus one.
**
** Memory. Frames and captures live in a struct on the C stack: clua_charge and every error
** leave through longjmp, so nothing here may own malloc'd memory. The frame array grows
** (into a Lua userdata) only in the one case where stock recursion is unlimited, see
** GMatch.depthleft.
*/
#include <ctype.h>
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include "clua_bounded.h"
#include "clua_budget.h"

#define MAXCAPTURES 32 /* LUA_MAXCAPTURES */
#define MAXDEPTH 200   /* nested activations the stock matcher allows (its MAXCCALLS) */

/* Work is counted in ticks: a matching step costs UNIT ticks, a byte copied into a result
   one tick, so 64 copied bytes cost as much as one step. Ticks are charged in batches. */
#define UNIT 64
#define FLUSH_TICKS ((size_t)1024 * UNIT)

#define uchar(c) ((unsigned char)(c))

#if defined(__GNUC__) || defined(__clang__)
#define PAT_NORETURN __attribute__((noreturn))
#define PAT_NOINLINE __attribute__((noinline))
#define PAT_UNREACHABLE() __builtin_unreachable()
#define PAT_UNLIKELY(x) __builtin_expect((x) != 0, 0)
#else
#define PAT_UNLIKELY(x) (x)
#define PAT_NORETURN
#define PAT_NOINLINE
#define PAT_UNREACHABLE() ((void)0)
#endif

/* Lengths of a capture that is still open, and of a position capture '()'. */
#define CAP_OPEN (-1)
#define CAP_POSITION (-2)

enum {
  F_OPEN,     /* a capture was opened: on failure, drop it */
  F_CLOSE,    /* a capture was closed: on failure, reopen it */
  F_GREEDY,   /* '*' or '+': on failure, retry the rest with one repetition fewer */
  F_LAZY,     /* '-': on failure, retry the rest with one repetition more */
  F_OPTIONAL  /* '?' whose item matched: on failure, go on without the item */
};

typedef struct Frame {
  const char *s;   /* F_GREEDY: end of the repetitions being tried; F_LAZY, F_OPTIONAL:
                      subject position of the alternative */
  const char *aux; /* F_GREEDY: the fewest repetitions' end; F_LAZY: the repeated item */
  const char *ep;  /* the item's suffix character; the rest of the pattern is at ep + 1 */
  int kind;
  int cap; /* F_CLOSE: the capture it closed */
} Frame;

/* A search: the matcher tried on one subject and pattern from successive start positions,
   from `offset` (see "Tripped searches" below). `extra` holds what else decides its steps
   (gmatch: the end of the previous match). */
typedef struct Search {
  int kind;
  const char *s;
  size_t ls;
  const char *p; /* the whole pattern, '^' included */
  size_t lp;
  size_t offset;
  long long extra;
  long long units; /* work units the call had left when the search started */
} Search;

typedef struct Matcher {
  lua_State *L;
  Search *search; /* the search running, if its steps may be recorded, or NULL */
  const char *s_init, *s_end; /* subject; Lua strings end with a '\0' at s_end */
  const char *p_end;          /* end of pattern (also '\0' there) */
  size_t ticks;               /* work not charged yet */
  int level;                  /* captures opened so far (closed or not) */
  int depthleft;              /* the stock 'matchdepth' at the start of this call */
  int *depthsink;             /* gmatch: where an error records the depth it leaked */
  int stop;                   /* frame count at which a push needs make_room */
  int cap;                    /* frames available at 'stack' */
  int slot;                   /* stack index of the userdata holding grown frames, or 0 */
  Frame *stack;
  struct {
    const char *init;
    ptrdiff_t len; /* or CAP_OPEN, CAP_POSITION */
  } capture[MAXCAPTURES];
  Frame frames[MAXDEPTH];
} Matcher;

static void matcher_init(Matcher *m, lua_State *L, const char *s, size_t ls, const char *p_end,
                         int depthleft, int *depthsink) {
  m->L = L;
  m->s_init = s;
  m->s_end = s + ls;
  m->p_end = p_end;
  m->ticks = 0;
  m->search = NULL;
  m->level = 0;
  m->depthleft = depthleft;
  m->depthsink = depthsink;
  m->stack = m->frames;
  m->cap = MAXDEPTH;
  m->slot = 0;
  /* A push with n frames starts activation n + 2, which the stock limit forbids once
     n + 2 > depthleft; depthleft never exceeds MAXDEPTH, so the inline frames suffice. */
  m->stop = (depthleft >= 0 && depthleft - 1 < MAXDEPTH) ? depthleft - 1 : MAXDEPTH;
}

/* ---------------------------------------------------------------- tripped searches */

/* A search that ran out of work units runs out again when it is repeated on the same
   subject, pattern and start with no more units left: the matcher is deterministic, starts
   each search with no uncharged ticks, and so charges the same steps at the same flushes.
   Strategies tend to repeat such a call on every symbol (a subject built from constants),
   and each repetition would burn a whole budget before failing. So a search that is about to
   run out records its inputs, and an identical search started with at most as many units
   fails at once, through the same charge: the same error, raised at the same place, with the
   budget left in the same state (units spent, the count hook armed). A few searches are kept
   per state, round robin, each at most TRIPPED_MAX_BYTES of subject and pattern. */
#define TRIPPED_SLOTS 4
#define TRIPPED_MAX_BYTES ((size_t)64 * 1024)

typedef struct Tripped {
  int kind;
  size_t ls, lp, offset;
  long long extra, units;
  char *bytes; /* subject, then pattern; NULL: slot empty */
} Tripped;

typedef struct TrippedSearches {
  Tripped slot[TRIPPED_SLOTS];
  int next;
} TrippedSearches;

void clua_budget_release(clua_Budget *b) {
  TrippedSearches *t = (TrippedSearches *)b->tripped_searches;
  if (t == NULL) return;
  for (int i = 0; i < TRIPPED_SLOTS; i++) free(t->slot[i].bytes);
  free(t);
  b->tripped_searches = NULL;
}

static int same_search(const Tripped *t, const Search *s) {
  return t->bytes != NULL && t->kind == s->kind && t->ls == s->ls && t->lp == s->lp &&
         t->offset == s->offset && t->extra == s->extra && memcmp(t->bytes, s->s, s->ls) == 0 &&
         memcmp(t->bytes + s->ls, s->p, s->lp) == 0;
}

/* Records `s`, whose next charge runs out of units (a failed allocation just records
   nothing: the search then runs in full next time). */
static void record_tripped(clua_Budget *b, const Search *s) {
  TrippedSearches *t = (TrippedSearches *)b->tripped_searches;
  Tripped *slot;
  char *bytes;
  if (t == NULL) {
    t = (TrippedSearches *)calloc(1, sizeof(TrippedSearches));
    if (t == NULL) return;
    b->tripped_searches = t;
  }
  for (int i = 0; i < TRIPPED_SLOTS; i++) {
    if (same_search(&t->slot[i], s)) {
      if (s->units > t->slot[i].units) t->slot[i].units = s->units;
      return;
    }
  }
  bytes = (char *)malloc(s->ls + s->lp + 1);
  if (bytes == NULL) return;
  memcpy(bytes, s->s, s->ls);
  memcpy(bytes + s->ls, s->p, s->lp);
  slot = &t->slot[t->next];
  t->next = (t->next + 1) % TRIPPED_SLOTS;
  free(slot->bytes);
  slot->kind = s->kind;
  slot->ls = s->ls;
  slot->lp = s->lp;
  slot->offset = s->offset;
  slot->extra = s->extra;
  slot->units = s->units;
  slot->bytes = bytes;
}

/* Starts search `s` for matcher `m`: fails at once (raising) when an identical search
   already ran out of units with at least as many; otherwise lets `m` record it should it run
   out. Searches too large to keep, and calls without a work budget, are left alone. */
static void begin_search(Matcher *m, Search *s) {
  clua_Budget *b = clua_budgetof(m->L);
  TrippedSearches *t;
  if (b == NULL || !b->counting || b->tripped || b->interrupted || b->units < 0) return;
  if (s->ls > TRIPPED_MAX_BYTES || s->lp > TRIPPED_MAX_BYTES - s->ls) return;
  s->units = b->units;
  t = (TrippedSearches *)b->tripped_searches;
  if (t != NULL) {
    for (int i = 0; i < TRIPPED_SLOTS; i++) {
      if (same_search(&t->slot[i], s) && b->units <= t->slot[i].units) {
        clua_charge(m->L, (size_t)b->units + 1); /* raises "instruction budget exceeded" */
        return;
      }
    }
  }
  m->search = s;
}

/* ---------------------------------------------------------------- work budget */

static PAT_NOINLINE void flush(Matcher *m) {
  size_t units = m->ticks / UNIT;
  m->ticks %= UNIT;
  if (m->search != NULL) {
    clua_Budget *b = clua_budgetof(m->L);
    if (b != NULL && b->counting && !b->interrupted &&
        (b->units < 0 || (unsigned long long)b->units < units))
      record_tripped(b, m->search);
  }
  clua_charge(m->L, units);
}

/* Charges everything left, rounding up: called once a call's matching is over. */
static void settle(lua_State *L, size_t *ticks) {
  size_t units = (*ticks + UNIT - 1) / UNIT;
  *ticks = 0;
  if (units > 0) clua_charge(L, units);
}

/* ---------------------------------------------------------------- errors */

/* Raises a pattern error found while `active` stock activations were running. A stock
   gmatch iterator keeps its depth counter across calls and an error skips the increments
   of the activations it unwinds, so the next call starts with that much less depth; a
   "pattern too complex" leaves the counter negative, which never meets the limit again. */
static PAT_NORETURN void pattern_error(Matcher *m, int active, const char *fmt, int arg) {
  if (m->depthsink != NULL) *m->depthsink = m->depthleft >= 0 ? m->depthleft - active : -1;
  luaL_error(m->L, fmt, arg);
  PAT_UNREACHABLE();
}

/* Called when a push finds `n` frames at m->stop: either the stock depth limit is reached,
   or (unlimited depth only) the frames need more room. Growth keeps the frames in a Lua
   userdata at a fixed stack slot; it happens only in the gmatch iterator, which holds no
   luaL_Buffer whose stack discipline a push could disturb. */
static PAT_NOINLINE void make_room(Matcher *m, int n) {
  lua_State *L = m->L;
  Frame *grown;
  int cap;
  if (m->depthleft >= 0 && n + 2 > m->depthleft)
    pattern_error(m, n + 2, "pattern too complex", 0);
  cap = m->cap * 2;
  luaL_checkstack(L, 1, NULL);
  grown = (Frame *)lua_newuserdatauv(L, (size_t)cap * sizeof(Frame), 0);
  memcpy(grown, m->stack, (size_t)n * sizeof(Frame));
  if (m->slot == 0)
    m->slot = lua_gettop(L);
  else
    lua_replace(L, m->slot);
  m->stack = grown;
  m->cap = cap;
  m->stop = cap;
}

/* ---------------------------------------------------------------- single items */

/* Whether byte c is in class %cl; a letter's upper case is the complement, and any other
   byte after '%' stands for itself. Uses <ctype.h> like the stock library. */
static int class_has(int c, int cl) {
  int yes;
  switch (tolower(cl)) {
    case 'a': yes = isalpha(c); break;
    case 'c': yes = iscntrl(c); break;
    case 'd': yes = isdigit(c); break;
    case 'g': yes = isgraph(c); break;
    case 'l': yes = islower(c); break;
    case 'p': yes = ispunct(c); break;
    case 's': yes = isspace(c); break;
    case 'u': yes = isupper(c); break;
    case 'w': yes = isalnum(c); break;
    case 'x': yes = isxdigit(c); break;
    case 'z': yes = (c == 0); break; /* deprecated, still accepted */
    default: return cl == c;
  }
  return islower(cl) ? yes != 0 : yes == 0;
}

/* Whether byte c is in the set whose '[' is at p and whose closing ']' is at close. A '-'
   makes a range only between two members that precede the closing ']'. */
static int set_has(int c, const char *p, const char *close) {
  int in = 1;
  p++;
  if (*p == '^') {
    in = 0;
    p++;
  }
  while (p < close) {
    if (*p == '%') {
      if (class_has(c, uchar(p[1]))) return in;
      p += 2;
    } else if (p[1] == '-' && p + 2 < close) {
      if (uchar(p[0]) <= c && c <= uchar(p[2])) return in;
      p += 3;
    } else {
      if (uchar(*p) == c) return in;
      p++;
    }
  }
  return !in;
}

/* The end of the single-character item at p (a byte, '.', '%x' or a set), where its
   suffix, if any, would be. A set's first member is taken as is, so "[]]" and "[^]]" hold
   ']'; an escape inside a set takes the next byte. */
static const char *item_end(Matcher *m, int active, const char *p) {
  const char *pe = m->p_end;
  switch (*p++) {
    case '%':
      if (p == pe) pattern_error(m, active, "malformed pattern (ends with '%%')", 0);
      return p + 1;
    case '[':
      if (p < pe && *p == '^') p++;
      for (;;) {
        if (p >= pe) pattern_error(m, active, "malformed pattern (missing ']')", 0);
        p += (*p == '%' && p + 1 < pe) ? 2 : 1;
        if (p < pe && *p == ']') return p + 1;
      }
    default:
      return p;
  }
}

/* Whether the subject byte at s matches the item p..ep (never past the subject's end). */
static inline int single(Matcher *m, const char *s, const char *p, const char *ep) {
  m->ticks += UNIT;
  if (s >= m->s_end) return 0;
  switch (*p) {
    case '.': return 1;
    case '%': return class_has(uchar(*s), uchar(p[1]));
    case '[': return set_has(uchar(*s), p, ep - 1);
    default: return uchar(*p) == uchar(*s);
  }
}

/* The end of the longest run of the item from s. */
static const char *longest(Matcher *m, const char *s, const char *p, const char *ep) {
  if (*p == '.') { /* every byte matches: one test per byte and the failing one at the end */
    m->ticks += (size_t)(m->s_end - s + 1) * UNIT;
    return m->s_end;
  }
  while (single(m, s, p, ep)) s++;
  return s;
}

/* %bxy at s (p points at x): the end of the balanced run, or NULL. */
static const char *balanced(Matcher *m, int active, const char *s, const char *p) {
  const char *q;
  int open, close, depth = 1;
  if (p >= m->p_end - 1)
    pattern_error(m, active, "malformed pattern (missing arguments to '%%b')", 0);
  m->ticks += UNIT;
  if (s >= m->s_end || *s != *p) return NULL;
  open = uchar(p[0]);
  close = uchar(p[1]);
  for (q = s + 1; q < m->s_end; q++) {
    if (uchar(*q) == close) { /* tested first: with x == y the next x closes */
      if (--depth == 0) {
        m->ticks += (size_t)(q - s) * UNIT;
        return q + 1;
      }
    } else if (uchar(*q) == open)
      depth++;
  }
  m->ticks += (size_t)(q - s) * UNIT;
  return NULL;
}

/* Back-reference %d at s: the end of the repeated capture, or NULL. */
static const char *backref(Matcher *m, int active, const char *s, int d) {
  int l = d - '1';
  ptrdiff_t len;
  if (l < 0 || l >= m->level || m->capture[l].len == CAP_OPEN)
    pattern_error(m, active, "invalid capture index %%%d", l + 1);
  len = m->capture[l].len;
  m->ticks += UNIT + (size_t)(len > 0 ? len : 0) * UNIT;
  if (len < 0) return NULL; /* a position capture never matches text */
  if ((size_t)(m->s_end - s) >= (size_t)len && memcmp(m->capture[l].init, s, (size_t)len) == 0)
    return s + len;
  return NULL;
}

/* ---------------------------------------------------------------- the matcher */

#define PUSH(k)                                          \
  do {                                                   \
    if (PAT_UNLIKELY(n >= m->stop)) make_room(m, n);       \
    f = m->stack + n++;                                  \
    f->kind = (k);                                       \
  } while (0)

/* Matches the pattern at p (its anchor already removed) at subject position s, as one
   top-level stock activation: the end of the match, or NULL. The current activation is
   nested n + 1 deep (n frames pending). Captures are left as the match set them. */
static const char *run(Matcher *m, const char *s, const char *p) {
  Frame *f;
  int n = 0;
  if (m->depthleft == 0) pattern_error(m, 1, "pattern too complex", 0);
enter: /* a new activation: s and p as it starts */
  m->ticks += UNIT;
resume: /* an activation goes on at s and p */
  for (;;) {
    const char *ep;
    if (PAT_UNLIKELY(m->ticks >= FLUSH_TICKS)) flush(m);
    if (p == m->p_end) return s;
    switch (*p) {
      case '(': {
        int l = m->level;
        if (l >= MAXCAPTURES) pattern_error(m, n + 1, "too many captures", 0);
        m->capture[l].init = s;
        if (p[1] == ')') {
          m->capture[l].len = CAP_POSITION;
          p += 2;
        } else {
          m->capture[l].len = CAP_OPEN;
          p += 1;
        }
        m->level = l + 1;
        PUSH(F_OPEN);
        goto enter;
      }
      case ')': {
        int l = m->level - 1;
        while (l >= 0 && m->capture[l].len != CAP_OPEN) l--;
        if (l < 0) pattern_error(m, n + 1, "invalid pattern capture", 0);
        m->capture[l].len = s - m->capture[l].init;
        PUSH(F_CLOSE);
        f->cap = l;
        p++;
        goto enter;
      }
      case '$':
        if (p + 1 != m->p_end) break; /* not last: an ordinary byte */
        if (s == m->s_end) return s;
        goto fail;
      case '%':
        switch (p[1]) {
          case 'b':
            s = balanced(m, n + 1, s, p + 2);
            if (s == NULL) goto fail;
            p += 4;
            continue;
          case 'f': {
            int before, here;
            p += 2;
            if (p >= m->p_end || *p != '[')
              pattern_error(m, n + 1, "missing '[' after '%%f' in pattern", 0);
            ep = item_end(m, n + 1, p);
            m->ticks += UNIT;
            before = (s == m->s_init) ? 0 : uchar(s[-1]);
            here = (s < m->s_end) ? uchar(*s) : 0;
            if (!set_has(before, p, ep - 1) && set_has(here, p, ep - 1)) {
              p = ep;
              continue;
            }
            goto fail;
          }
          case '0': case '1': case '2': case '3': case '4':
          case '5': case '6': case '7': case '8': case '9':
            s = backref(m, n + 1, s, uchar(p[1]));
            if (s == NULL) goto fail;
            p += 2;
            continue;
          default:
            break; /* a class: an ordinary item */
        }
        break;
      default:
        break;
    }
    /* A single-character item with an optional suffix. Its suffix is read at ep even when
       ep == p_end: the '\0' there is no suffix. */
    ep = item_end(m, n + 1, p);
    if (!single(m, s, p, ep)) {
      if (*ep == '*' || *ep == '?' || *ep == '-') { /* zero repetitions will do */
        p = ep + 1;
        continue;
      }
      goto fail;
    }
    switch (*ep) {
      case '?':
        PUSH(F_OPTIONAL);
        f->s = s;
        f->ep = ep;
        s++;
        p = ep + 1;
        goto enter;
      case '+':
      case '*': {
        const char *fewest = (*ep == '+') ? s + 1 : s;
        const char *e = longest(m, fewest, p, ep);
        PUSH(F_GREEDY);
        f->s = e;
        f->aux = fewest;
        f->ep = ep;
        s = e;
        p = ep + 1;
        goto enter;
      }
      case '-':
        PUSH(F_LAZY);
        f->s = s;
        f->aux = p;
        f->ep = ep;
        p = ep + 1;
        goto enter;
      default:
        s++;
        p = ep;
        continue;
    }
  }

fail: /* the current activation failed: its parent takes the next alternative */
  while (n > 0) {
    f = m->stack + --n;
    switch (f->kind) {
      case F_OPEN:
        m->level--;
        break;
      case F_CLOSE:
        m->capture[f->cap].len = CAP_OPEN;
        break;
      case F_GREEDY:
        if (f->s > f->aux) {
          s = --f->s;
          p = f->ep + 1;
          n++;
          goto enter;
        }
        break;
      case F_LAZY:
        if (single(m, f->s, f->aux, f->ep)) {
          s = ++f->s;
          p = f->ep + 1;
          n++;
          goto enter;
        }
        break;
      default: /* F_OPTIONAL: the parent itself goes on */
        s = f->s;
        p = f->ep + 1;
        goto resume;
    }
  }
  return NULL;
}

/* ---------------------------------------------------------------- captures */

/* Capture i of a match s..e (the whole match when there are no captures and i is 0): its
   length with its start in *cap, or CAP_POSITION after pushing the position. */
static ptrdiff_t capture_span(Matcher *m, int i, const char *s, const char *e,
                              const char **cap) {
  ptrdiff_t len;
  if (i >= m->level) {
    if (PAT_UNLIKELY(i != 0)) luaL_error(m->L, "invalid capture index %%%d", i + 1);
    *cap = s;
    return e - s;
  }
  len = m->capture[i].len;
  *cap = m->capture[i].init;
  if (PAT_UNLIKELY(len == CAP_OPEN))
    luaL_error(m->L, "unfinished capture");
  else if (len == CAP_POSITION)
    lua_pushinteger(m->L, (m->capture[i].init - m->s_init) + 1);
  return len;
}

static void push_capture(Matcher *m, int i, const char *s, const char *e) {
  const char *cap;
  ptrdiff_t len = capture_span(m, i, s, e, &cap);
  if (len != CAP_POSITION) lua_pushlstring(m->L, cap, (size_t)len);
}

/* Pushes every capture, or the whole match s..e when there are none and s is given. */
static int push_captures(Matcher *m, const char *s, const char *e) {
  int i, count = (m->level == 0 && s != NULL) ? 1 : m->level;
  luaL_checkstack(m->L, count, "too many captures");
  for (i = 0; i < count; i++) push_capture(m, i, s, e);
  return count;
}

/* ---------------------------------------------------------------- find and match */

/* A 1-based start position (negative: from the end) as a 0-based offset, clipped below at
   0; it may exceed len, which callers test. */
static size_t start_offset(lua_Integer pos, size_t len) {
  if (pos > 0) return (size_t)pos - 1;
  if (pos == 0 || pos < -(lua_Integer)len) return 0;
  return len + (size_t)pos;
}

static int has_specials(const char *p, size_t lp) {
  size_t i;
  for (i = 0; i < lp; i++) {
    switch (p[i]) {
      case '^': case '$': case '*': case '+': case '?':
      case '.': case '(': case '[': case '%': case '-':
        return 1;
      default:
        break;
    }
  }
  return 0;
}

/* The first occurrence of needle in hay, or NULL. Charges a step per candidate position
   and per byte compared there, and the bytes memchr skips as copies. */
static const char *plain_find(lua_State *L, size_t *ticks, const char *hay, size_t hl,
                              const char *needle, size_t nl) {
  const char *q, *last;
  if (nl == 0) return hay;
  if (nl > hl) return NULL;
  last = hay + (hl - nl); /* the last start with room for the needle */
  for (q = hay; q <= last;) {
    size_t k = 1;
    const char *c = (const char *)memchr(q, needle[0], (size_t)(last - q) + 1);
    if (c == NULL) {
      *ticks += (size_t)(last - q) + 1;
      return NULL;
    }
    *ticks += (size_t)(c - q);
    while (k < nl && c[k] == needle[k]) k++;
    *ticks += (k + (k < nl)) * UNIT;
    if (k == nl) return c;
    q = c + 1;
    if (*ticks >= FLUSH_TICKS) {
      clua_charge(L, *ticks / UNIT);
      *ticks %= UNIT;
    }
  }
  return NULL;
}

static int find_aux(lua_State *L, int find) {
  size_t ls, lp;
  const char *s = luaL_checklstring(L, 1, &ls);
  const char *p = luaL_checklstring(L, 2, &lp);
  size_t init = start_offset(luaL_optinteger(L, 3, 1), ls);
  if (init > ls) { /* starts after the end: nothing to find */
    luaL_pushfail(L);
    return 1;
  }
  if (find && (lua_toboolean(L, 4) || !has_specials(p, lp))) {
    size_t ticks = lp;
    const char *hit = plain_find(L, &ticks, s + init, ls - init, p, lp);
    settle(L, &ticks);
    if (hit != NULL) {
      lua_pushinteger(L, (hit - s) + 1);
      lua_pushinteger(L, (lua_Integer)((size_t)(hit - s) + lp));
      return 2;
    }
  } else {
    Matcher m;
    Search search = {1, s, ls, p, lp, init, 0, 0};
    const char *s1 = s + init;
    int anchor = (lp > 0 && *p == '^');
    matcher_init(&m, L, s, ls, p + lp, MAXDEPTH, NULL);
    begin_search(&m, &search);
    if (anchor) p++;
    do {
      const char *e;
      m.level = 0;
      if ((e = run(&m, s1, p)) != NULL) {
        m.search = NULL;
        settle(L, &m.ticks);
        if (find) {
          lua_pushinteger(L, (s1 - s) + 1);
          lua_pushinteger(L, e - s);
          return push_captures(&m, NULL, NULL) + 2;
        }
        return push_captures(&m, s1, e);
      }
    } while (s1++ < m.s_end && !anchor);
    m.search = NULL;
    settle(L, &m.ticks);
  }
  luaL_pushfail(L);
  return 1;
}

int clua_str_find(lua_State *L) { return find_aux(L, 1); }

int clua_str_match(lua_State *L) { return find_aux(L, 0); }

/* ---------------------------------------------------------------- gmatch */

typedef struct GMatch {
  const char *src;       /* where the next search starts */
  const char *lastmatch; /* end of the previous match: an empty match there is skipped */
  const char *s_init, *s_end, *p, *p_end;
  /* The stock iterator's depth counter, kept across calls (see pattern_error): MAXDEPTH
     while nothing went wrong; negative means unlimited. */
  int depthleft;
} GMatch;

static int gmatch_next(lua_State *L) {
  GMatch *g = (GMatch *)lua_touserdata(L, lua_upvalueindex(3));
  Matcher m;
  const char *src;
  size_t ls = (size_t)(g->s_end - g->s_init);
  Search search = {2, g->s_init, ls, g->p, (size_t)(g->p_end - g->p),
                   (size_t)(g->src - g->s_init),
                   g->lastmatch == NULL ? -1 : (long long)(g->lastmatch - g->s_init), 0};
  matcher_init(&m, L, g->s_init, ls, g->p_end, g->depthleft, &g->depthleft);
  /* Only while the depth counter is whole: past a "pattern too complex" the frames grow in
     a userdata, whose allocations are charged too. */
  if (g->depthleft == MAXDEPTH && g->src <= g->s_end) begin_search(&m, &search);
  for (src = g->src; src <= g->s_end; src++) {
    const char *e;
    m.level = 0;
    if ((e = run(&m, src, g->p)) != NULL && e != g->lastmatch) {
      m.search = NULL;
      g->src = g->lastmatch = e;
      settle(L, &m.ticks);
      return push_captures(&m, src, e);
    }
  }
  m.search = NULL;
  settle(L, &m.ticks);
  return 0;
}

int clua_str_gmatch(lua_State *L) {
  size_t ls, lp;
  const char *s = luaL_checklstring(L, 1, &ls);
  const char *p = luaL_checklstring(L, 2, &lp);
  size_t init = start_offset(luaL_optinteger(L, 3, 1), ls);
  GMatch *g;
  lua_settop(L, 2); /* subject and pattern become upvalues: the pointers stay valid */
  g = (GMatch *)lua_newuserdatauv(L, sizeof(GMatch), 0);
  if (init > ls) init = ls + 1; /* past the end: the iterator finds nothing */
  g->s_init = s;
  g->s_end = s + ls;
  g->src = s + init;
  g->lastmatch = NULL;
  g->p = p;
  g->p_end = p + lp;
  g->depthleft = MAXDEPTH;
  lua_pushcclosure(L, gmatch_next, 3);
  return 1;
}

/* ---------------------------------------------------------------- gsub */

/* Appends replacement string (argument 3) for the match s..e: "%0" is the match, "%1" to
   "%9" a capture, "%%" a '%'. */
static void add_template(Matcher *m, luaL_Buffer *b, const char *s, const char *e) {
  lua_State *L = m->L;
  size_t l;
  const char *t = lua_tolstring(L, 3, &l);
  const char *q;
  while ((q = (const char *)memchr(t, '%', l)) != NULL) {
    luaL_addlstring(b, t, (size_t)(q - t));
    m->ticks += (size_t)(q - t) + 1;
    q++; /* the byte after '%'; the string's '\0' if '%' ends it */
    if (*q == '%')
      luaL_addchar(b, '%');
    else if (*q == '0') {
      luaL_addlstring(b, s, (size_t)(e - s));
      m->ticks += (size_t)(e - s);
    } else if (isdigit(uchar(*q))) {
      const char *cap;
      ptrdiff_t len = capture_span(m, *q - '1', s, e, &cap);
      if (len == CAP_POSITION)
        luaL_addvalue(b);
      else {
        luaL_addlstring(b, cap, (size_t)len);
        m->ticks += (size_t)len;
      }
    } else
      luaL_error(L, "invalid use of '%c' in replacement string", '%');
    l -= (size_t)(q + 1 - t);
    t = q + 1;
  }
  luaL_addlstring(b, t, l);
  m->ticks += l;
}

/* Appends the replacement for the match s..e; returns whether it changed the text (a
   table or function answering nil or false keeps the match). */
static int add_replacement(Matcher *m, luaL_Buffer *b, const char *s, const char *e, int tr) {
  lua_State *L = m->L;
  size_t len;
  if (tr == LUA_TFUNCTION) {
    int nargs;
    lua_pushvalue(L, 3);
    nargs = push_captures(m, s, e);
    lua_call(L, nargs, 1);
  } else if (tr == LUA_TTABLE) {
    push_capture(m, 0, s, e);
    lua_gettable(L, 3);
  } else { /* a string or a number */
    add_template(m, b, s, e);
    return 1;
  }
  if (!lua_toboolean(L, -1)) {
    lua_settop(L, -2);
    luaL_addlstring(b, s, (size_t)(e - s));
    m->ticks += (size_t)(e - s);
    return 0;
  }
  if (PAT_UNLIKELY(!lua_isstring(L, -1)))
    return luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
  lua_tolstring(L, -1, &len);
  m->ticks += len;
  luaL_addvalue(b);
  return 1;
}

int clua_str_gsub(lua_State *L) {
  size_t srcl, lp;
  const char *src = luaL_checklstring(L, 1, &srcl);
  const char *p = luaL_checklstring(L, 2, &lp);
  const char *lastmatch = NULL;
  int tr = lua_type(L, 3);
  lua_Integer max_n = luaL_optinteger(L, 4, (lua_Integer)(srcl + 1));
  int anchor = (lp > 0 && *p == '^');
  lua_Integer n = 0;
  int changed = 0;
  Matcher m;
  luaL_Buffer b;
  luaL_argexpected(L, tr == LUA_TNUMBER || tr == LUA_TSTRING || tr == LUA_TFUNCTION ||
                          tr == LUA_TTABLE,
                   3, "string/function/table");
  Search search = {3, src, srcl, p, lp, 0, 0, 0};
  luaL_buffinit(L, &b);
  matcher_init(&m, L, src, srcl, p + lp, MAXDEPTH, NULL);
  /* Up to the first match, the work depends on the subject and pattern alone (a replacement
     function or table only runs on a match). */
  if (max_n > 0) begin_search(&m, &search);
  if (anchor) p++;
  while (n < max_n) {
    const char *e;
    m.level = 0;
    if ((e = run(&m, src, p)) != NULL && e != lastmatch) {
      m.search = NULL;
      n++;
      changed = add_replacement(&m, &b, src, e, tr) | changed;
      src = lastmatch = e;
    } else if (src < m.s_end) {
      luaL_addchar(&b, *src++);
      m.ticks++;
    } else
      break;
    if (anchor) break;
  }
  m.search = NULL;
  if (changed) m.ticks += (size_t)(m.s_end - src);
  settle(L, &m.ticks);
  if (!changed)
    lua_pushvalue(L, 1);
  else {
    luaL_addlstring(&b, src, (size_t)(m.s_end - src));
    luaL_pushresult(&b);
  }
  lua_pushinteger(L, n);
  return 2;
}
