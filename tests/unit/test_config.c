/*
 * test_config.c - the configuration: the UCL-subset parser (every syntax
 * element and every error with its exact message and line), includes
 * through an in-memory reader, the key table (types, bounds, suggestions),
 * the cross-key checks, the files in configs/, and LMTP next hops.
 *
 * configs/bad/NAME.conf must fail with the first line of NAME.expect. The
 * test reads each file by its absolute path, SRCDIR "/configs/bad/NAME.conf",
 * and removes every occurrence of SRCDIR "/configs/bad/" from the message
 * before comparing, so .expect files name files as "NAME.conf:LINE: ..."
 * (included files too) and do not depend on where the tree is checked out.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "config/config.h"
#include "config/ucl_int.h"
#include "util/buf.h"
#include "util/xalloc.h"

#define IN(s) (const uint8_t *)(s), sizeof(s) - 1
#define CONFIGS SRCDIR "/configs"
#define BAD CONFIGS "/bad/"

/* ---- a compact printing of the tree, so that a case is one table row ---- */

/*
 * {key@LINE:value,...}  [value,...]  "quoted string"  `bare string`
 * true false  12  -12  12/k (k, m, g)  12/b (kb, mb, gb)  12/t (milliseconds)
 * Bytes outside printable ASCII, and " ` \, print as \xNN.
 */
static void
print_node(struct buf *b, const struct ucl_node *n)
{
	static const char *const units[] = { "", "/k", "/b", "/t" };

	switch (n->type) {
	case UCL_OBJECT:
		buf_append_byte(b, '{');
		for (size_t i = 0; i < n->nkids; i++) {
			if (i > 0)
				buf_append_byte(b, ',');
			buf_printf(b, "%s@%u:", n->kids[i]->key, n->kids[i]->line);
			print_node(b, n->kids[i]);
		}
		buf_append_byte(b, '}');
		break;
	case UCL_ARRAY:
		buf_append_byte(b, '[');
		for (size_t i = 0; i < n->nkids; i++) {
			if (i > 0)
				buf_append_byte(b, ',');
			print_node(b, n->kids[i]);
		}
		buf_append_byte(b, ']');
		break;
	case UCL_STRING: {
		char q = n->is_quoted ? '"' : '`';

		assert_int_equal(strlen(n->str), n->len);
		buf_append_byte(b, (uint8_t)q);
		for (size_t i = 0; i < n->len; i++) {
			uint8_t c = (uint8_t)n->str[i];

			if (c < 0x20 || c >= 0x7f || c == '"' || c == '`' || c == '\\')
				buf_printf(b, "\\x%02X", c);
			else
				buf_append_byte(b, c);
		}
		buf_append_byte(b, (uint8_t)q);
		break;
	}
	case UCL_NUMBER:
		buf_printf(b, "%s%llu%s", n->is_negative ? "-" : "", (unsigned long long)n->num,
		    units[n->unit]);
		break;
	case UCL_BOOLEAN:
		buf_append_str(b, n->boolean ? "true" : "false");
		break;
	}
}

/* Parses in (name "t.conf", no includes): the printed tree, or the error. */
static char *
parse_to_text(const uint8_t *in, size_t len, const struct ucl_reader *rd, const char *name)
{
	char err[1024] = "";
	struct ucl_doc *d = ucl_parse_mem(in, len, name, (uint64_t[2]){ 0, 0 }, rd, err,
	    sizeof(err));
	struct buf b;
	char *ret;

	if (d == NULL) {
		assert_true(err[0] != '\0');
		return xstrdup(err);
	}
	buf_init(&b, SIZE_MAX);
	print_node(&b, d->root);
	ret = xstrdup(buf_cstr(&b));
	buf_clear(&b);
	ucl_doc_free(&d);
	assert_null(d);
	return ret;
}

struct parse_case {
	const uint8_t *in;
	size_t len;
	const char *want;	/* the printed tree, or "t.conf:LINE: error" */
};

static void
run_parse_cases(const struct parse_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *got = parse_to_text(cases[i].in, cases[i].len, NULL, "t.conf");

		if (strcmp(got, cases[i].want) != 0)
			fail_msg("case %zu: %.*s\n want: %s\n  got: %s", i, (int)cases[i].len,
			    (const char *)cases[i].in, cases[i].want, got);
		free(got);
	}
}

static const struct parse_case syntax_cases[] = {
	/* the top level is an implicit object */
	{ IN(""),					"{}" },
	{ IN("\n\n  \t\n"),				"{}" },
	/* key = value; key: value; key value; ended by ; , or a newline */
	{ IN("a = 1"),					"{a@1:1}" },
	{ IN("a=1"),					"{a@1:1}" },
	{ IN("a: 1"),					"{a@1:1}" },
	{ IN("a 1"),					"{a@1:1}" },
	{ IN("a = 1; b = 2"),				"{a@1:1,b@1:2}" },
	{ IN("a = 1, b = 2,"),				"{a@1:1,b@1:2}" },
	{ IN("a = 1\nb = 2\n"),				"{a@1:1,b@2:2}" },
	{ IN("a = 1\r\nb = 2\r\n"),			"{a@1:1,b@2:2}" },
	{ IN("a =\n  1"),				"{a@1:1}" },
	{ IN("A_b-9 = x"),				"{A_b-9@1:`x`}" },
	{ IN("\"a-b\" = 1; 'c' = 2"),			"{a-b@1:1,c@1:2}" },
	/* comments */
	{ IN("# c\na = 1 # c\n// c\nb = 2 // c\n"),	"{a@2:1,b@4:2}" },
	{ IN("/* c\n c */ a = 1 /* c */; b = 2"),	"{a@2:1,b@2:2}" },
	{ IN("/* a /* nested */ still */ a = 1"),	"{a@1:1}" },
	{ IN("a = 1 /* a newline\n in a comment ends a value */ b = 2"), "{a@1:1,b@2:2}" },
	{ IN("# \xC3\xA9t\xC3\xA9 \x01\n"),		"{}" },
	/* objects, named sections, merging */
	{ IN("a { b = 1 }"),				"{a@1:{b@1:1}}" },
	{ IN("a = { b = 1; c { d = 2 } };"),		"{a@1:{b@1:1,c@1:{d@1:2}}}" },
	{ IN("a {\n}\nb {}"),				"{a@1:{},b@3:{}}" },
	{ IN("a\n{\n b = 1\n}"),			"{a@1:{b@3:1}}" },
	{ IN("listen \"mx\" { address = x }"),		"{listen@1:{mx@1:{address@1:`x`}}}" },
	{ IN("listen 'mx' { }"),			"{listen@1:{mx@1:{}}}" },
	{ IN("listen mx { }"),				"{listen@1:{mx@1:{}}}" },
	{ IN("listen \"mx\"\n{\n}"),			"{listen@1:{mx@1:{}}}" },
	{ IN("a \"b\" \"c\" { d = 1 }"),		"{a@1:{b@1:{c@1:{d@1:1}}}}" },
	{ IN("l \"a\" { x = 1 }\nl \"b\" { y = 2 }"),	"{l@1:{a@1:{x@1:1},b@2:{y@2:2}}}" },
	{ IN("s { x = 1 }\ns { y = 2 }"),		"{s@1:{x@1:1,y@2:2}}" },
	{ IN("s { t { x = 1 } }\ns { t { y = 2 } }"),	"{s@1:{t@1:{x@1:1,y@2:2}}}" },
	{ IN("s { x = 1 }\ns = { y = 2 }"),		"{s@1:{x@1:1,y@2:2}}" },
	/* arrays */
	{ IN("a = [1, 2, 3]"),				"{a@1:[1,2,3]}" },
	{ IN("a = [1, 2, 3,]"),				"{a@1:[1,2,3]}" },
	{ IN("a = []"),					"{a@1:[]}" },
	{ IN("a = [\n 1\n 2,\n\n 3\n]"),		"{a@1:[1,2,3]}" },
	{ IN("a [x, \"y\"]"),				"{a@1:[`x`,\"y\"]}" },
	{ IN("a = [[1], [], [2, [3]]]"),		"{a@1:[[1],[],[2,[3]]]}" },
	{ IN("a = [{ b = 1 }, { b = 2 }]"),		"{a@1:[{b@1:1},{b@1:2}]}" },
	{ IN("a = [ /* c */ 1 # c\n , 2 ]"),		"{a@1:[1,2]}" },
	{ IN("a = [\n  x\n, y\n, z\n]"),		"{a@1:[`x`,`y`,`z`]}" },
	/* quoted strings */
	{ IN("a = \"\""),				"{a@1:\"\"}" },
	{ IN("a = \"x y\""),				"{a@1:\"x y\"}" },
	{ IN("a = \"\\n\\t\\r\\\\\\\"\""),		"{a@1:\"\\x0A\\x09\\x0D\\x5C\\x22\"}" },
	{ IN("a = \"\\u0041\\u00e9\\u20AC\\uFFFF\""),
	    "{a@1:\"A\\xC3\\xA9\\xE2\\x82\\xAC\\xEF\\xBF\\xBF\"}" },
	{ IN("a = \"\xC3\xA9\tx\""),			"{a@1:\"\\xC3\\xA9\\x09x\"}" },
	{ IN("a = \"#not // a /* comment\""),		"{a@1:\"#not // a /* comment\"}" },
	{ IN("a = 'x\\'y\\\\z\\n\"'"),			"{a@1:\"x'y\\x5Cz\\x5Cn\\x22\"}" },
	{ IN("a = 'trailing\\'"),
	    "t.conf:1: unterminated string: no closing ' on the line where it starts" },
	{ IN("a = \"true\"; b = \"5\""),		"{a@1:\"true\",b@1:\"5\"}" },
	/* bare words */
	{ IN("a = /var/spool/sterna"),			"{a@1:`/var/spool/sterna`}" },
	{ IN("a = 127.0.0.1:25"),			"{a@1:`127.0.0.1:25`}" },
	{ IN("a = user@example.org"),			"{a@1:`user@example.org`}" },
	{ IN("a = a+b*c_d-e"),				"{a@1:`a+b*c_d-e`}" },
	{ IN("a = x}"),					"t.conf:1: unexpected '}' (no '{' to close)" },
	{ IN("a { b = x}"),				"{a@1:{b@1:`x`}}" },
	{ IN("a = [x]"),				"{a@1:[`x`]}" },
	/* booleans */
	{ IN("a = [true, false, yes, no, on, off, TRUE, Off]"),
	    "{a@1:[true,false,true,false,true,false,true,false]}" },
	{ IN("a = truex"),				"{a@1:`truex`}" },
	/* numbers and suffixes */
	{ IN("a = [0, 007, 18446744073709551615, -5, -0]"),
	    "{a@1:[0,7,18446744073709551615,-5,0]}" },
	{ IN("a = [10k, 10m, 10g, 10K]"),
	    "{a@1:[10000/k,10000000/k,10000000000/k,10000/k]}" },
	{ IN("a = [1kb, 1mb, 1gb, 35MB]"),
	    "{a@1:[1024/b,1048576/b,1073741824/b,36700160/b]}" },
	{ IN("a = [10ms, 10s, 10min, 1h, 1d, 1w, 1y, 5MIN]"),
	    "{a@1:[10/t,10000/t,600000/t,3600000/t,86400000/t,604800000/t,31536000000/t,"
	    "300000/t]}" },
	{ IN("a = [-10s, 16gb]"),			"{a@1:[-10000/t,17179869184/b]}" },
	/* not numbers: strings, for a key that wants a number to refuse */
	{ IN("a = [10x, 1.5, 1.5gb, 0x10, -, --5, +5, 1e5, 5 ]"),
	    "{a@1:[`10x`,`1.5`,`1.5gb`,`0x10`,`-`,`--5`,`+5`,`1e5`,5]}" },
	/* JSON is a subset of this subset */
	{ IN("{\"a\": 1, \"b\": [true, \"x\"], \"c\": {\"d\": \"e\"}}"),
	    "{a@1:1,b@1:[true,\"x\"],c@1:{d@1:\"e\"}}" },
	{ IN("\n{\n\"a\": {}\n}\n"),			"{a@3:{}}" },
	/* lines */
	{ IN("a = 1\n\n\nb {\n\n c = [\n1,\n2]\n}"),	"{a@1:1,b@4:{c@6:[1,2]}}" },
};

static const struct parse_case syntax_error_cases[] = {
	/* missing values and keys */
	{ IN("a = "),		"t.conf:1: key 'a' has no value" },
	{ IN("a"),		"t.conf:1: key 'a' has no value" },
	{ IN("a;"),		"t.conf:1: key 'a' has no value" },
	{ IN("a\nb = 1"),	"t.conf:1: key 'a' has no value" },
	{ IN("s {\n a =\n}"),	"t.conf:2: key 'a' has no value" },
	{ IN("a = ;"),		"t.conf:1: key 'a' has no value" },
	{ IN("a = = 1"),	"t.conf:1: key 'a' has no value" },
	{ IN("= 1"),		"t.conf:1: expected a key, found '='" },
	{ IN("a = 1;;"),	"t.conf:1: expected a key, found ';'" },
	{ IN("\xC3\xA9 = 1"),	"t.conf:1: expected a key, found byte 0xC3" },
	{ IN("a = \xC3\xA9"),	"t.conf:1: expected a value, found byte 0xC3" },
	{ IN("a $"),		"t.conf:1: expected '=', ':', '{' or a value after key 'a', found '$'" },
	/* terminators */
	{ IN("a = 1 2"),	"t.conf:1: expected ';', ',' or a newline after the value of 'a', "
				"found '2'" },
	{ IN("a = \"x\" \"y\""),"t.conf:1: expected ';', ',' or a newline after the value of 'a', "
				"found '\"'" },
	{ IN("a b c"),		"t.conf:1: expected ';', ',' or a newline after the value of 'a', "
				"found a second value" },
	{ IN("a = 1 {"),	"t.conf:1: expected ';', ',' or a newline after the value of 'a', "
				"found '{'" },
	/* braces and brackets */
	{ IN("}"),		"t.conf:1: unexpected '}' (no '{' to close)" },
	{ IN("a {\n b = 1\n"),	"t.conf:1: unterminated object: '{' has no matching '}'" },
	{ IN("a {\n b {\n}"),	"t.conf:1: unterminated object: '{' has no matching '}'" },
	{ IN("a = [1, 2"),	"t.conf:1: unterminated array: '[' has no matching ']'" },
	{ IN("a = [1,\n 2,"),	"t.conf:1: unterminated array: '[' has no matching ']'" },
	{ IN("a = [1 2]"),	"t.conf:1: expected ',' or ']' after an array element, found '2'" },
	{ IN("a = [1,,2]"),	"t.conf:1: expected a value, found ','" },
	{ IN("a = [,]"),	"t.conf:1: expected a value, found ','" },
	{ IN("s {\n a = [\n 1\n}"),
	    "t.conf:4: expected a value or ']', found '}' (the '[' at line 2 is not closed)" },
	{ IN("a = ]"),		"t.conf:1: key 'a' has no value" },
	{ IN("{ a = 1 } b"),	"t.conf:1: unexpected 'b' after the closing '}'" },
	{ IN("{ a = 1"),	"t.conf:1: unterminated object: '{' has no matching '}'" },
	/* strings */
	{ IN("a = \"x"),	"t.conf:1: unterminated string: no closing \" on the line where "
				"it starts" },
	{ IN("a = \"x\ny\""),	"t.conf:1: unterminated string: no closing \" on the line where "
				"it starts" },
	{ IN("a = 'x"),		"t.conf:1: unterminated string: no closing ' on the line where "
				"it starts" },
	{ IN("a = \"x\\"),	"t.conf:1: unterminated string: no closing \" on the line where "
				"it starts" },
	{ IN("a = \"\\q\""),	"t.conf:1: unknown escape '\\q' in a string" },
	{ IN("a = \"\\/\""),	"t.conf:1: unknown escape '\\/' in a string" },
	{ IN("a = \"\\\x01\""),	"t.conf:1: unknown escape (backslash and byte 0x01) in a string" },
	{ IN("a = \"\\u12\""),	"t.conf:1: \\u needs four hex digits" },
	{ IN("a = \"\\u12G4\""),"t.conf:1: \\u needs four hex digits" },
	{ IN("a = \"\\u0000\""),"t.conf:1: \\u0000 is not allowed in a string" },
	{ IN("a = \"\\uD83D\\uDE00\""), "t.conf:1: \\uD83D is a UTF-16 surrogate, not a character" },
	{ IN("a = \"\\udfff\""),"t.conf:1: \\uDFFF is a UTF-16 surrogate, not a character" },
	{ IN("a = \"x\x01\""),	"t.conf:1: control character (byte 0x01) in a string" },
	{ IN("a = 'x\x7f'"),	"t.conf:1: control character (byte 0x7F) in a string" },
	{ IN("a = \"x\ry\""),	"t.conf:1: control character (byte 0x0D) in a string" },
	/* bare words and keys */
	{ IN("a = x$y"),	"t.conf:1: unexpected '$' in the value 'x' (quote values that hold it)" },
	{ IN("a = x#y"),	"t.conf:1: unexpected '#' in the value 'x' (quote values that hold it)" },
	{ IN("a = x\"y\""),	"t.conf:1: unexpected '\"' in the value 'x' (quote values that hold it)" },
	{ IN("a.b = 1"),	"t.conf:1: dotted key 'a.b' is not supported: write a { ... } instead" },
	{ IN("a$ = 1"),		"t.conf:1: invalid character '$' in key 'a' (keys are letters, "
				"digits, '_' and '-')" },
	{ IN("a. = 1"),		"t.conf:1: invalid character '.' in key 'a' (keys are letters, "
				"digits, '_' and '-')" },
	{ IN("\"a.b\" = 1"),	"t.conf:1: invalid key \"a.b\" (keys are letters, digits, '_' and '-')" },
	{ IN("\"\" = 1"),	"t.conf:1: invalid key \"\" (keys are letters, digits, '_' and '-')" },
	{ IN("a \"b c\" { }"),	"t.conf:1: invalid section name 'b c' (names are letters, digits, "
				"'_' and '-')" },
	{ IN("a b c d e f g h i j { }"), "t.conf:1: more than 8 section names" },
	/* numbers: never wrapped */
	{ IN("a = 18446744073709551616"), "t.conf:1: number too large: '18446744073709551616'" },
	{ IN("a = -99999999999999999999"), "t.conf:1: number too large: '-99999999999999999999'" },
	{ IN("a = 20000000000g"),	"t.conf:1: number too large: '20000000000g'" },
	{ IN("a = 17179869184gb"),	"t.conf:1: number too large: '17179869184gb'" },
	{ IN("a = 584942418y"),		"t.conf:1: number too large: '584942418y'" },
	/* duplicates; objects merge, nothing else does */
	{ IN("a = 1\na = 2"),		"t.conf:2: key 'a' already set at t.conf:1" },
	{ IN("a = 1\na { }"),		"t.conf:2: key 'a' already set at t.conf:1" },
	{ IN("a { }\na = [1]"),		"t.conf:2: key 'a' already set at t.conf:1" },
	{ IN("a { b = 1 }\na { b = 2 }"), "t.conf:2: key 'a.b' already set at t.conf:1" },
	{ IN("l \"x\" { b = 1 }\nl \"x\" {\n b = 2 }"), "t.conf:3: key 'l.x.b' already set at t.conf:1" },
	{ IN("s { a { b = 1 } }\ns { a { c { } } }\ns { a { c = 2 } }"),
	    "t.conf:3: key 's.a.c' already set at t.conf:2" },
	{ IN("a = [{ b = 1, b = 2 }]"),	"t.conf:1: key 'a[0].b' already set at t.conf:1" },
	{ IN("\"a\" = 1; a = 2"),	"t.conf:1: key 'a' already set at t.conf:1" },
	/* comments */
	{ IN("a = 1\n/* x"),		"t.conf:2: unterminated comment: '/*' has no matching '*/'" },
	{ IN("/* /* */\n"),		"t.conf:1: unterminated comment: '/*' has no matching '*/'" },
	{ IN("a = [ /* ] */"),		"t.conf:1: unterminated array: '[' has no matching ']'" },
	/* NUL: refused wherever it is, comments included */
	{ IN("a = 1\n\0"),		"t.conf:2: NUL byte in the file" },
	{ IN("# \0\n"),			"t.conf:1: NUL byte in the file" },
	{ IN("a = \"x\0y\""),		"t.conf:1: NUL byte in the file" },
	/* directives */
	{ IN(".include \"x\""),		"t.conf:1: .include is not allowed here" },
	{ IN(".priority = 1"),		"t.conf:1: unknown directive '.priority' (only .include is "
					"supported)" },
	{ IN("."),			"t.conf:1: unknown directive '.' (only .include is supported)" },
	{ IN(".include(priority=1) \"x\""), "t.conf:1: .include takes no parameters here" },
	{ IN(".include"),		"t.conf:1: .include needs a file name, found the end of the file" },
	{ IN(".include ;"),		"t.conf:1: .include needs a file name, found ';'" },
	{ IN(".include \"a\" \"b\""),	"t.conf:1: expected ';', ',' or a newline after the value of "
					"'.include', found '\"'" },
};

static void
test_syntax(void **state)
{
	(void)state;
	run_parse_cases(syntax_cases, NELEM(syntax_cases));
}

static void
test_syntax_errors(void **state)
{
	(void)state;
	run_parse_cases(syntax_error_cases, NELEM(syntax_error_cases));
}

/* Array elements and values keep their own lines: errors point at them. */
static void
test_lines(void **state)
{
	static const uint8_t in[] = "s {\n\tk =\n\t\t[ a,\n\t\tb ]\n\tl \"n\"\n\t{ }\n}\n";
	char err[256];
	struct ucl_doc *d = ucl_parse_mem(in, sizeof(in) - 1, "t.conf", NULL, NULL, err,
	    sizeof(err));
	const struct ucl_node *s, *k, *l;

	(void)state;
	assert_non_null(d);
	s = ucl_get(d->root, "s");
	k = ucl_get(s, "k");
	l = ucl_get(s, "l");
	assert_non_null(k);
	assert_int_equal(k->line, 2);
	assert_int_equal(k->vline, 3);
	assert_int_equal(k->kids[0]->line, 3);
	assert_int_equal(k->kids[1]->line, 4);
	assert_string_equal(k->file, "t.conf");
	assert_int_equal(l->line, 5);
	assert_int_equal(ucl_get(l, "n")->line, 5);
	assert_null(ucl_get(s, "nope"));
	assert_null(ucl_get(k, "a"));	/* not an object */
	ucl_doc_free(&d);
	ucl_doc_free(&d);		/* NULL is fine */
}

/* Many keys in one object: the duplicate check must still find them. */
static void
test_many_keys(void **state)
{
	struct buf b;
	char *got;

	(void)state;
	buf_init(&b, SIZE_MAX);
	for (int i = 0; i < 5000; i++)
		buf_printf(&b, "k%d = %d\n", i, i);
	got = parse_to_text(b.data, b.len, NULL, "t.conf");
	assert_true(got[0] == '{');
	free(got);
	buf_printf(&b, "k4321 = 1\n");
	got = parse_to_text(b.data, b.len, NULL, "t.conf");
	assert_string_equal(got, "t.conf:5001: key 'k4321' already set at t.conf:4322");
	free(got);
	buf_clear(&b);
}

/* ---- limits ---- */

static char *
nested(const char *open, const char *close, int n)
{
	struct buf b;
	char *s;

	buf_init(&b, SIZE_MAX);
	buf_append_str(&b, "a = ");
	for (int i = 0; i < n; i++)
		buf_append_str(&b, open);
	for (int i = 0; i < n; i++)
		buf_append_str(&b, close);
	s = xstrdup(buf_cstr(&b));
	buf_clear(&b);
	return s;
}

static void
test_limits(void **state)
{
	char *in, *got;
	size_t n;

	(void)state;
	/* nesting: 32 levels, the top-level object not counted */
	in = nested("[", "]", 32);
	got = parse_to_text((const uint8_t *)in, strlen(in), NULL, "t.conf");
	assert_true(got[0] == '{');
	free(got);
	free(in);
	in = nested("[", "]", 33);
	got = parse_to_text((const uint8_t *)in, strlen(in), NULL, "t.conf");
	assert_string_equal(got, "t.conf:1: nesting deeper than 32 levels");
	free(got);
	free(in);
	in = nested("{ b = ", "}", 33);
	got = parse_to_text((const uint8_t *)in, strlen(in), NULL, "t.conf");
	assert_string_equal(got, "t.conf:1: nesting deeper than 32 levels");
	free(got);
	free(in);
	/* named sections count one level per name */
	got = parse_to_text(IN("a b c d e f g h i {}"), NULL, "t.conf");
	assert_true(got[0] == '{');
	free(got);

	/* strings: 64 KiB, quoted or bare, and keys */
	n = UCL_MAX_STRING_BYTES;
	in = xmalloc(n + 16);
	memcpy(in, "a = \"", 5);
	memset(in + 5, 'x', n);
	memcpy(in + 5 + n, "\"", 2);
	got = parse_to_text((const uint8_t *)in, strlen(in), NULL, "t.conf");
	assert_true(got[0] == '{');
	free(got);
	memcpy(in + 5 + n, "x\"", 3);
	got = parse_to_text((const uint8_t *)in, strlen(in), NULL, "t.conf");
	assert_string_equal(got, "t.conf:1: string longer than 64 KiB");
	free(got);
	in[4] = 'x';	/* a bare word one byte longer: a = xxxx... */
	in[5 + n + 1] = '\0';
	got = parse_to_text((const uint8_t *)in, strlen(in), NULL, "t.conf");
	assert_string_equal(got, "t.conf:1: string longer than 64 KiB");
	free(got);
	memset(in, 'k', n + 1);
	memcpy(in + n + 1, " = 1", 5);
	got = parse_to_text((const uint8_t *)in, strlen(in), NULL, "t.conf");
	assert_string_equal(got, "t.conf:1: key longer than 64 KiB");
	free(got);
	free(in);

	/* \u escapes count by what they decode to: 3 bytes each here */
	{
		struct buf b;

		buf_init(&b, SIZE_MAX);
		buf_append_str(&b, "a = \"");
		for (size_t i = 0; i < n / 3 + 1; i++)
			buf_append_str(&b, "\\u20AC");
		buf_append_str(&b, "\"");
		got = parse_to_text(b.data, b.len, NULL, "t.conf");
		assert_string_equal(got, "t.conf:1: string longer than 64 KiB");
		free(got);
		buf_clear(&b);
	}

	/* nothing at all, even without a buffer */
	got = parse_to_text(NULL, 0, NULL, "t.conf");
	assert_string_equal(got, "{}");
	free(got);

	/* one file: 1 MiB */
	n = UCL_MAX_FILE_BYTES;
	in = xmalloc(n + 1);
	memset(in, '\n', n + 1);
	got = parse_to_text((const uint8_t *)in, n, NULL, "t.conf");
	assert_string_equal(got, "{}");
	free(got);
	got = parse_to_text((const uint8_t *)in, n + 1, NULL, "t.conf");
	assert_string_equal(got, "t.conf: larger than 1 MiB");
	free(got);
	free(in);
}

/* ---- includes, through a reader that serves files from a table ---- */

struct mem_file {
	const char *name;
	const char *text;	/* NULL: "big", UCL_MAX_FILE_BYTES bytes of newlines */
	size_t extra;		/* bytes added to big */
};

struct mem_fs {
	const struct mem_file *files;
	size_t n;
};

static int
mem_read(void *ctx, const char *name, size_t max, uint8_t **data_out, size_t *len_out,
    uint64_t id_out[2], char *why, size_t whysize)
{
	const struct mem_fs *fs = ctx;

	for (size_t i = 0; i < fs->n; i++) {
		const struct mem_file *f = &fs->files[i];
		size_t len;

		if (strcmp(f->name, name) != 0)
			continue;
		len = f->text ? strlen(f->text) : UCL_MAX_FILE_BYTES / 2 + f->extra;
		if (len > max) {
			*len_out = max + 1;
			snprintf(why, whysize, "too large");
			return -1;
		}
		*data_out = xmalloc(len ? len : 1);
		if (f->text)
			memcpy(*data_out, f->text, len);
		else
			memset(*data_out, '\n', len);
		*len_out = len;
		id_out[0] = 1;
		id_out[1] = i + 1;
		return 0;
	}
	*len_out = 0;
	snprintf(why, whysize, "%s", strerror(ENOENT));
	return -1;
}

/* Parses fs->files[0] with includes from fs: the tree or the error. */
static char *
parse_fs(const struct mem_file *files, size_t n)
{
	struct mem_fs fs = { files, n };
	struct ucl_reader rd = { mem_read, &fs };
	char err[1024] = "";
	struct ucl_doc *d = ucl_parse_mem((const uint8_t *)files[0].text, strlen(files[0].text),
	    files[0].name, (uint64_t[2]){ 1, 1 }, &rd, err, sizeof(err));
	struct buf b;
	char *ret;

	if (d == NULL)
		return xstrdup(err);
	buf_init(&b, SIZE_MAX);
	print_node(&b, d->root);
	ret = xstrdup(buf_cstr(&b));
	buf_clear(&b);
	ucl_doc_free(&d);
	return ret;
}

static void
expect_fs(const struct mem_file *files, size_t n, const char *want)
{
	char *got = parse_fs(files, n);

	assert_string_equal(got, want);
	free(got);
}

static void
test_include(void **state)
{
	(void)state;
	/* relative to the including file's directory; contents merge where included */
	{
		static const struct mem_file f[] = {
			{ "etc/main.conf", "a = 1\ns {\n .include \"sub/s.inc\"\n x = 2 }\nb = 3", 0 },
			{ "etc/sub/s.inc", "# in s\ny = 4\n.include 'deeper.inc'", 0 },
			{ "etc/sub/deeper.inc", "z = 5", 0 },
		};
		expect_fs(f, NELEM(f), "{a@1:1,s@2:{y@2:4,z@1:5,x@4:2},b@5:3}");
	}
	/* an absolute name is taken as it is; a bare word names a file too */
	{
		static const struct mem_file f[] = {
			{ "etc/main.conf", ".include /abs.inc; .include x.inc", 0 },
			{ "/abs.inc", "a = 1", 0 },
			{ "etc/x.inc", "b = 2", 0 },
		};
		expect_fs(f, NELEM(f), "{a@1:1,b@1:2}");
	}
	/* a file in the current directory includes without a directory part */
	{
		static const struct mem_file f[] = {
			{ "main.conf", ".include \"b.inc\"", 0 },
			{ "b.inc", "{ \"json\": true }", 0 },
		};
		expect_fs(f, NELEM(f), "{json@1:true}");
	}
	/* the same file twice is no cycle; its keys then collide */
	{
		static const struct mem_file f[] = {
			{ "m", ".include \"b\"\n.include \"b\"", 0 },
			{ "b", "s { x = 1 }", 0 },
		};
		expect_fs(f, NELEM(f), "b:1: key 's.x' already set at b:1");
	}
	/* errors give the included file's name and line */
	{
		static const struct mem_file f[] = {
			{ "m", "a = 1\n.include \"b\"", 0 },
			{ "b", "\n\nc = [", 0 },
		};
		expect_fs(f, NELEM(f), "b:3: unterminated array: '[' has no matching ']'");
	}
	{
		static const struct mem_file f[] = {
			{ "m", "a = 1\n\n.include \"none\"", 0 },
		};
		expect_fs(f, NELEM(f), "m:3: cannot include 'none': No such file or directory");
	}
	{
		static const struct mem_file f[] = {
			{ "m", ".include \"\"", 0 },
		};
		expect_fs(f, NELEM(f), "m:1: .include needs a file name");
	}
	/* cycles, to itself and through others */
	{
		static const struct mem_file f[] = {
			{ "m", "\n.include \"m\"", 0 },
		};
		expect_fs(f, NELEM(f), "m:2: include cycle: m -> m");
	}
	{
		static const struct mem_file f[] = {
			{ "m", ".include \"a\"", 0 },
			{ "a", ".include \"b\"", 0 },
			{ "b", "x = 1\n.include \"a\"", 0 },
		};
		expect_fs(f, NELEM(f), "b:2: include cycle: a -> b -> a");
	}
	/* an unterminated object does not continue into the includer */
	{
		static const struct mem_file f[] = {
			{ "m", ".include \"a\"\n}", 0 },
			{ "a", "s {", 0 },
		};
		expect_fs(f, NELEM(f), "a:1: unterminated object: '{' has no matching '}'");
	}
	/* a file of more than 1 MiB; and 4 MiB in all */
	{
		static const struct mem_file f[] = {
			{ "m", ".include \"big\"", 0 },
			{ "big", NULL, UCL_MAX_FILE_BYTES / 2 + 1 },
		};
		expect_fs(f, NELEM(f), "m:1: cannot include 'big': larger than 1 MiB");
	}
	{
		static const struct mem_file f[] = {
			{ "m", ".include \"big\"\n.include \"big\"\n.include \"big\"\n"
			    ".include \"big\"\n", 0 },
			{ "big", NULL, UCL_MAX_FILE_BYTES / 2 },
		};
		expect_fs(f, NELEM(f), "m:4: configuration too large: more than 4 MiB read with "
		    "includes");
	}
}

/* 16 nested includes work; the 17th is refused. */
static void
test_include_depth(void **state)
{
	struct mem_file f[19];
	char names[19][8], texts[19][32];

	(void)state;
	for (int i = 0; i < 19; i++) {
		snprintf(names[i], sizeof(names[i]), "f%d", i);
		snprintf(texts[i], sizeof(texts[i]), ".include \"f%d\"", i + 1);
		f[i] = (struct mem_file){ names[i], texts[i], 0 };
	}
	snprintf(texts[16], sizeof(texts[16]), "x = 16");
	expect_fs(f, 17, "{x@1:16}");
	snprintf(texts[16], sizeof(texts[16]), ".include \"f17\"");
	snprintf(texts[17], sizeof(texts[17]), "x = 17");
	expect_fs(f, 18, "f16:1: includes nested more than 16 deep");
}

/* ---- loading: keys, types, bounds, cross-key checks ---- */

#define BASE "server { hostname = \"mx.example.test\"; }\n" \
	"listen \"mx\" { address = \"127.0.0.1:2525\"; }\n"

/* Loads text (name "t.conf"): NULL and the error in err, or the config. */
static struct config *
load_text(const char *text, char *err, size_t errsize)
{
	struct ucl_doc *d = ucl_parse_mem((const uint8_t *)text, strlen(text), "t.conf", NULL,
	    NULL, err, errsize);
	struct config *c;

	if (d == NULL)
		return NULL;
	c = config_load_doc(d, "t.conf", err, errsize);
	ucl_doc_free(&d);
	return c;
}

struct load_case {
	const char *text;	/* BASE is put before it; lines count from 3 */
	const char *want;	/* NULL: loads */
};

static const struct load_case load_cases[] = {
	/* bounds, at and past each end */
	{ "smtp { max_line_bytes = 512 }", NULL },
	{ "smtp { max_line_bytes = 511 }",
	    "t.conf:3: smtp.max_line_bytes: must be at least 512 (RFC 5321 4.5.3.1.4)" },
	{ "smtp { max_line_bytes = 64kb }", NULL },
	{ "smtp { max_line_bytes = 65537 }",
	    "t.conf:3: smtp.max_line_bytes: must be at most 65536 (RFC 5321 4.5.3.1.4)" },
	{ "smtp { max_text_line_bytes = 999 }",
	    "t.conf:3: smtp.max_text_line_bytes: must be at least 1000 (RFC 5321 4.5.3.1.6)" },
	{ "smtp { max_message_bytes = 1kb }", NULL },
	{ "smtp { max_message_bytes = 1023 }",
	    "t.conf:3: smtp.max_message_bytes: must be at least 1024" },
	{ "smtp { max_message_bytes = 4gb }", NULL },
	{ "smtp { max_message_bytes = 4294967297 }",
	    "t.conf:3: smtp.max_message_bytes: must be at most 4gb" },
	{ "smtp { max_message_bytes = 5g }",
	    "t.conf:3: smtp.max_message_bytes: must be at most 4gb" },
	{ "smtp { max_recipients = 0 }", "t.conf:3: smtp.max_recipients: must be at least 1" },
	{ "smtp { max_recipients = 100k }", NULL },
	{ "smtp { max_recipients = 100001 }",
	    "t.conf:3: smtp.max_recipients: must be at most 100000" },
	{ "smtp { max_errors = 1001 }", "t.conf:3: smtp.max_errors: must be at most 1000" },
	{ "smtp { idle_timeout = 999ms }", "t.conf:3: smtp.idle_timeout: must be at least 1s" },
	{ "smtp { idle_timeout = 1h }", NULL },
	{ "smtp { idle_timeout = 61min }", "t.conf:3: smtp.idle_timeout: must be at most 1h" },
	{ "server { max_sessions = 0 }", "t.conf:3: server.max_sessions: must be at least 1" },
	{ "server { max_sessions = 1000001 }",
	    "t.conf:3: server.max_sessions: must be at most 1000000" },
	{ "server { io_threads = 0 }", "t.conf:3: server.io_threads: must be at least 1" },
	{ "queue { retry_min = 1d; retry_max = 1d }", NULL },
	{ "queue { retry_max = 25h }", "t.conf:3: queue.retry_max: must be at most 1d" },
	{ "queue { retry_min = 0 }", "t.conf:3: queue.retry_min: must be at least 1s" },
	{ "queue { lifetime = 0 }", "t.conf:3: queue.lifetime: must be at least 1s" },
	{ "queue { lifetime = 30d }", NULL },
	{ "queue { lifetime = 31d }", "t.conf:3: queue.lifetime: must be at most 30d" },
	{ "queue { lifetime = 1y }", "t.conf:3: queue.lifetime: must be at most 30d" },
	{ "dns { resolver = \"127.0.0.1:5353\" }", NULL },
	{ "dns { resolver = \"[::1]:53\" }", NULL },
	{ "dns { resolver = \"::1\" }", NULL },
	{ "dns { resolver = \"ns.example.test\" }",
	    "t.conf:3: dns.resolver: 'ns.example.test' is not a numeric \"IPv4\", \"IPv4:port\", "
	    "\"IPv6\" or \"[IPv6]:port\"" },
	{ "outbound { routes = [\"example.net [127.0.0.1]:2526\", \"example.org mx.example.net\"] }",
	    NULL },
	{ "outbound { routes = [\"example.net\"] }",
	    "t.conf:3: outbound.routes: 'example.net': expected \"DOMAIN VALUE\"" },
	{ "outbound { routes = [\"example.net 127.0.0.1\"] }",
	    "t.conf:3: outbound.routes: '127.0.0.1' is not a next hop (host, host:port, [host] or "
	    "[host]:port) and an optional TLS policy (none, may, encrypt or verify)" },
	{ "outbound { routes = [\"a.test x.test\", \"A.test y.test\"] }",
	    "t.conf:3: outbound.routes: 'a.test' is listed twice (first at line 3)" },
	{ "outbound { smarthost = \"[smtp.example.net]:99999\" }",
	    "t.conf:3: outbound.smarthost: '[smtp.example.net]:99999' is not a next hop (host, "
	    "host:port, [host] or [host]:port)" },
	{ "outbound { smarthost_user = \"u\" }",
	    "t.conf:3: outbound.smarthost_user and outbound.smarthost_password go together" },
	{ "outbound { sources = [\"example.org 127.0.0.2 out.example.org\"] }", NULL },
	{ "outbound { sources = [\"example.org mail.example.org\"] }",
	    "t.conf:3: outbound.sources: 'mail.example.org' is not \"ADDRESS\" or "
	    "\"ADDRESS HELO-NAME\"" },
	{ "outbound { port = 0 }", "t.conf:3: outbound.port: must be at least 1" },
	{ "outbound { rcpt_timeout = 50ms }",
	    "t.conf:3: outbound.rcpt_timeout: must be at least 100ms" },
	{ "bounce { null_sender_to = \"nobody\" }",
	    "t.conf:3: bounce.null_sender_to: 'nobody' is not an address such as "
	    "postmaster@example.org" },
	{ "bounce { delay_notice = 0 }", NULL },
	{ "listen \"b\" { address = \"127.0.0.1:1\"; greeting_delay = 60s }", NULL },
	{ "listen \"b\" { address = \"127.0.0.1:1\"; greeting_delay = 60001ms }",
	    "t.conf:3: listen.b.greeting_delay: must be at most 1min" },
	/* types */
	{ "smtp { max_recipients = \"5\" }", "t.conf:3: smtp.max_recipients: expected a number" },
	{ "smtp { max_recipients = true }", "t.conf:3: smtp.max_recipients: expected a number" },
	{ "smtp { max_recipients = [5] }", "t.conf:3: smtp.max_recipients: expected a number" },
	{ "smtp { max_recipients = 1.5 }", "t.conf:3: smtp.max_recipients: expected a number" },
	{ "smtp { max_recipients = 5kb }",
	    "t.conf:3: smtp.max_recipients: expected a number, not a size" },
	{ "smtp { max_recipients = 5s }",
	    "t.conf:3: smtp.max_recipients: expected a number, not a duration" },
	{ "smtp { max_message_bytes = 10x }",
	    "t.conf:3: smtp.max_message_bytes: expected a size such as 512, 64kb or 35mb" },
	{ "smtp { max_message_bytes = -1 }",
	    "t.conf:3: smtp.max_message_bytes: must not be negative" },
	{ "smtp { idle_timeout = 5 }", NULL },
	{ "smtp { idle_timeout = 5kb }",
	    "t.conf:3: smtp.idle_timeout: expected a duration such as 30s, 5min or 1h" },
	{ "smtp { idle_timeout = 5M }",
	    "t.conf:3: smtp.idle_timeout: expected a duration such as 30s, 5min or 1h ('m' "
	    "means a million; minutes are 'min')" },
	{ "smtp { idle_timeout = 18446744073709551s }",
	    "t.conf:3: smtp.idle_timeout: must be at most 1h" },
	{ "smtp { idle_timeout = 18446744073709552 }",
	    "t.conf:3: smtp.idle_timeout: number too large" },
	{ "smtp { idle_timeout = -5s }", "t.conf:3: smtp.idle_timeout: must not be negative" },
	{ "queue { retry_max = 3601500ms }",
	    "t.conf:3: queue.retry_max: must be a whole number of seconds" },
	{ "server { hostname = 5 }", "t.conf:3: key 'server.hostname' already set at t.conf:1" },
	{ "server { user = { } }", "t.conf:3: server.user: expected a string" },
	{ "server { user = 1000 }", NULL },
	{ "server { user = \"-x\" }", "t.conf:3: server.user: '-x' is not a valid user name" },
	{ "server { user = \"a b\" }", "t.conf:3: server.user: 'a b' is not a valid user name" },
	{ "server { log_level = WARNING }", NULL },
	{ "server { log_level = 3 }",
	    "t.conf:3: server.log_level: must be one of error, warning, info, debug" },
	{ "server { log_level = [] }",
	    "t.conf:3: server.log_level: must be one of error, warning, info, debug" },
	{ "server { log_format = json; log_output = syslog; log_syslog_facility = local7 }", NULL },
	{ "server { log_format = xml }",
	    "t.conf:3: server.log_format: 'xml' is not one of text, json" },
	{ "server { log_output = file }",
	    "t.conf:3: server.log_output: 'file' is not one of stderr, syslog" },
	{ "server { log_syslog_facility = kern }",
	    "t.conf:3: server.log_syslog_facility: 'kern' is not one of mail, daemon, user, local0 ... local7" },
	{ "spool { dir = \"\" }", "t.conf:3: spool.dir: must not be empty" },
	{ "spool { dir = [] }", "t.conf:3: spool.dir: expected a string" },
	{ "spool = [1]", "t.conf:3: spool: expected a section { ... }" },
	{ "local { domains = { } }", "t.conf:3: local.domains: expected a list of domain names" },
	{ "local { domains = [[\"a\"]] }",
	    "t.conf:3: local.domains: expected a list of domain names" },
	{ "local { domains = \"\" }", "t.conf:3: local.domains: '' is not a domain name" },
	{ "local { users = [\"\"] }",
	    "t.conf:3: local.users: '' is not a valid user name (a-z, 0-9, '.', '_', '-', 1 to 64 of "
	    "them, not starting with '.')" },
	{ "local { aliases = [] }",
	    "t.conf:3: local.aliases: expected an object such as { info = [\"alice\", \"bob\"]; }" },
	{ "local { aliases { a = [] } }", "t.conf:3: local.aliases.a: no targets" },
	{ "local { aliases { a = [{}] } }",
	    "t.conf:3: local.aliases.a: expected a list of target names" },
	{ "local { aliases { a = \"b c\" } }",
	    "t.conf:3: local.aliases.a: 'b c' is not a valid target name" },
	{ "local { aliases { a = \", b\" } }", "t.conf:3: local.aliases.a: empty target" },
	{ "local { users = [b]; aliases { a = \"b,\" } }", "t.conf:3: local.aliases.a: empty target" },
	{ "local { users = [b]; aliases { a = [b, B] } }",
	    "t.conf:3: local.aliases.a: 'b' is listed twice (first at line 3)" },
	{ "local {\n aliases {\n Sales = b\n sales = c\n } }",
	    "t.conf:6: alias 'sales' already set at t.conf:5" },
	{ "local { recipient_delimiter = \"\" }", NULL },
	{ "local { recipient_delimiter = \"=\" }", NULL },
	{ "local { recipient_delimiter = \"@\" }",
	    "t.conf:3: local.recipient_delimiter: must be one of \"+\", \"-\", \"_\", \"=\" or \"\" "
	    "(none)" },
	/* names and domains */
	{ "local { domains = [\"a-b.example\", \"xn--e1a.example\", localhost, \"1.2.3.4\"];"
	    " users = [postmaster] }", NULL },
	{ "local { domains = [\"a..b\"] }", "t.conf:3: local.domains: 'a..b' is not a domain name" },
	{ "local { domains = [\"a.b.\"] }", "t.conf:3: local.domains: 'a.b.' is not a domain name" },
	{ "local { domains = [\"a-.b\"] }", "t.conf:3: local.domains: 'a-.b' is not a domain name" },
	{ "local { domains = [\"[127.0.0.1]\"] }",
	    "t.conf:3: local.domains: '[127.0.0.1]' is not a domain name" },
	{ "local { domains = [\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.b\"] }",
	    "t.conf:3: local.domains: 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' "
	    "is not a domain name" },
	{ "local { users = [\"a.b_c-d\", \"0\", \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxx\"] }", NULL },
	{ "local { users = [\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"] }",
	    "t.conf:3: local.users: 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' is "
	    "not a valid user name (a-z, 0-9, '.', '_', '-', 1 to 64 of them, not starting with '.')" },
	{ "local { users = [\"a+b\"] }",
	    "t.conf:3: local.users: 'a+b' is not a valid user name (a-z, 0-9, '.', '_', '-', 1 to 64 "
	    "of them, not starting with '.')" },
	{ "local { users = []; domains = [] }", NULL },	/* empty lists: found by fuzzing */
	{ "local { users = [a, b, a, b] }",
	    "t.conf:3: local.users: 'a' is listed twice (first at line 3)" },
	/* listeners */
	{ "listen \"v6\" { address = \"[::1]:25\" }", NULL },
	{ "listen \"v6\" { address = \"[::ffff:127.0.0.1]:25\" }", NULL },
	{ "listen \"b\" { address = 127.0.0.1:26 }", NULL },
	{ "listen \"b\" { address = \"127.0.0.1\" }",
	    "t.conf:3: listen.b.address: '127.0.0.1' is not a numeric \"IPv4:port\" or "
	    "\"[IPv6]:port\"" },
	{ "listen \"b\" { address = \"127.0.0.1:\" }",
	    "t.conf:3: listen.b.address: '127.0.0.1:': the port must be a number from 1 to 65535" },
	{ "listen \"b\" { address = \"127.0.0.1:0\" }",
	    "t.conf:3: listen.b.address: '127.0.0.1:0': the port must be a number from 1 to 65535" },
	{ "listen \"b\" { address = \"127.0.0.1:-1\" }",
	    "t.conf:3: listen.b.address: '127.0.0.1:-1': the port must be a number from 1 to 65535" },
	{ "listen \"b\" { address = \"127.0.0.1:99999999999999999999999\" }",
	    "t.conf:3: listen.b.address: '127.0.0.1:99999999999999999999999': the port must be a "
	    "number from 1 to 65535" },
	{ "listen \"b\" { address = \"[::1]25\" }",
	    "t.conf:3: listen.b.address: '[::1]25' is not a numeric \"IPv4:port\" or \"[IPv6]:port\"" },
	{ "listen \"b\" { address = \"[127.0.0.1]:25\" }",
	    "t.conf:3: listen.b.address: '[127.0.0.1]:25' is not a numeric \"IPv4:port\" or "
	    "\"[IPv6]:port\"" },
	{ "listen \"b\" { address = \"[]:25\" }",
	    "t.conf:3: listen.b.address: '[]:25' is not a numeric \"IPv4:port\" or \"[IPv6]:port\"" },
	{ "listen \"b\" { address = \"127.1:25\" }",
	    "t.conf:3: listen.b.address: '127.1:25' is not a numeric \"IPv4:port\" or "
	    "\"[IPv6]:port\"" },
	{ "listen \"b\" { address = \"[::1]:25\" }\nlisten \"c\" { address = \"[0::1]:25\" }",
	    "t.conf:4: listen.c.address: [0::1]:25 is already used by listen.b at t.conf:3" },
	{ "listen \"b\" { address = \"[::1]:25\" }\nlisten \"c\" { address = \"127.0.0.1:25\" }",
	    NULL },
	/* a wildcard beside a specific address of its family on the same port: bind would fail */
	{ "listen \"b\" { address = \"0.0.0.0:2525\" }",
	    "t.conf:3: listen.b.address: 0.0.0.0:2525 overlaps listen.mx (127.0.0.1:2525 at "
	    "t.conf:2): 0.0.0.0:2525 takes the port on every address; list specific addresses "
	    "instead" },
	{ "listen \"b\" { address = \"[::]:25\" }\nlisten \"c\" { address = \"[::1]:25\" }",
	    "t.conf:4: listen.c.address: [::1]:25 overlaps listen.b ([::]:25 at t.conf:3): [::]:25 "
	    "takes the port on every address; list specific addresses instead" },
	{ "listen \"b\" { address = \"0.0.0.0:2526\" }", NULL },
	{ "listen \"b\" { address = \"[::]:2525\" }", NULL },	/* IPV6_V6ONLY: no overlap */
	{ "listen \"b\" { address = \"0.0.0.0:25\" }\nlisten \"c\" { address = \"0.0.0.0:25\" }",
	    "t.conf:4: listen.c.address: 0.0.0.0:25 is already used by listen.b at t.conf:3" },
	{ "listen \"b\" { }", "t.conf:3: listen.b.address: required, as \"127.0.0.1:25\" or "
	    "\"[::1]:25\"" },
	{ "listen \"b\" { address = \"127.0.0.1:1\"; tls = yes }",
	    "t.conf:3: unknown key 'listen.b.tls'" },
	{ "listen \"b\" \"c\" { }", "t.conf:3: unknown key 'listen.b.c'" },
	/* unknown keys and what they may have meant */
	{ "smtp { max_recipient = 5 }",
	    "t.conf:3: unknown key 'smtp.max_recipient' (did you mean 'smtp.max_recipients'?)" },
	{ "smtp { max_recipientsss = 5 }",
	    "t.conf:3: unknown key 'smtp.max_recipientsss' (did you mean 'smtp.max_recipients'?)" },
	{ "smtp { max_recipientssss = 5 }", "t.conf:3: unknown key 'smtp.max_recipientssss'" },
	{ "smtp { max_line_bytes { } }", "t.conf:3: smtp.max_line_bytes: expected a size such as "
	    "512, 64kb or 35mb" },
	{ "smtp { max_line_bytes { x = 1 } }", "t.conf:3: smtp.max_line_bytes: expected a size "
	    "such as 512, 64kb or 35mb" },
	{ "queue { retry_min { x = 1 } }",
	    "t.conf:3: queue.retry_min: expected a duration such as 30s, 5min or 1h" },
	{ "lcoal { }", "t.conf:3: unknown key 'lcoal' (did you mean 'local'?)" },
	/* tls: the files are read by src/tls; here only that both are named */
	{ "tls { }", NULL },
	{ "tls { cert \"a\" { chain = \"c.pem\" } }",
	    "t.conf:3: tls.cert.a.key: required: the private key file (PEM)" },
	{ "tls { cert \"a\" { key = \"k.pem\" } }",
	    "t.conf:3: tls.cert.a.chain: required: the certificate chain file (PEM)" },
	{ "tls { cert { chain = \"c.pem\" } }", "t.conf:3: tls.cert.chain: certificates have "
	    "names: write cert \"NAME\" { chain = ...; }" },
	{ "tls { cert \"a\" { chian = \"c.pem\" } }",
	    "t.conf:3: unknown key 'tls.cert.a.chian' (did you mean 'tls.cert.a.chain'?)" },
	{ "tls { cert \"a\" { chain = \"\"; key = \"k\" } }", "t.conf:3: tls.cert.a.chain: must not be empty" },
	{ "tls { handshake_timeout = 0 }", "t.conf:3: tls.handshake_timeout: must be at least 1s" },
	{ "tls { handshake_timeout = 5min }", NULL },
	{ "tls { handshake_timeout = 301s }", "t.conf:3: tls.handshake_timeout: must be at most 5min" },
	{ "listen \"b\" { address = \"127.0.0.1:1\"; starttls = off }", NULL },
	/* booleans: the words in any case, bare or quoted */
	{ "listen \"b\" { address = \"127.0.0.1:1\"; starttls = \"no\" }", NULL },
	{ "listen \"b\" { address = \"127.0.0.1:1\"; starttls = 'On' }", NULL },
	{ "listen \"b\" { address = \"127.0.0.1:1\"; starttls = YES }", NULL },
	{ "listen \"b\" { address = \"127.0.0.1:1\"; starttls = \"maybe\" }",
	    "t.conf:3: listen.b.starttls: expected true or false (or yes/no, on/off)" },
	{ "listen \"b\" { address = \"127.0.0.1:1\"; starttls = [yes] }",
	    "t.conf:3: listen.b.starttls: expected true or false (or yes/no, on/off)" },
	{ "listen \"b\" { address = \"127.0.0.1:1\"; starttls = 1 }",
	    "t.conf:3: listen.b.starttls: expected true or false (or yes/no, on/off)" },
	{ "listen \"b\" { address = \"127.0.0.1:1\";\n implicit_tls = yes }",
	    "t.conf:4: listen.b.implicit_tls: needs a certificate: add tls { cert \"NAME\" { "
	    "chain = \"FILE\"; key = \"FILE\"; } }" },
	{ "listen \"b\" { address = \"127.0.0.1:1\"; implicit_tls = yes }\n"
	    "tls { cert \"a\" { chain = \"/c.pem\"; key = \"/k.pem\" } }", NULL },
	{ "antivirus { }", "t.conf:3: unknown key 'antivirus'" },
	{ "max_errors = 5", "t.conf:3: unknown key 'max_errors' (did you mean 'smtp.max_errors'?)" },
	{ "smtp { greeting_delay = 5s }", "t.conf:3: unknown key 'smtp.greeting_delay' (did you "
	    "mean 'listen.NAME.greeting_delay'?)" },
	{ "local { aliases { a = b } x = 1 }", "t.conf:3: unknown key 'local.x'" },
	{ "server { hostname { } }", "t.conf:3: key 'server.hostname' already set at t.conf:1" },
	/* aliases */
	{ "local {\n users = [alice]\n aliases {\n a = alice\n b = [a, alice]\n c = \"b, a\"\n } }",
	    NULL },
	{ "local {\n users = [alice]\n aliases {\n a = a\n } }", "t.conf:6: alias loop: a -> a" },
	{ "local {\n users = [alice]\n aliases {\n x = [alice, a]\n a = b\n b = c\n c = [alice, a]"
	    "\n } }", "t.conf:7: alias loop: a -> b -> c -> a" },
	{ "local {\n users = [alice]\n aliases {\n a = bob\n } }",
	    "t.conf:6: local.aliases.a: 'bob' is not a local user or alias" },
	{ "local {\n users = [alice]\n aliases {\n a = alice\n ALICE = a\n } }",
	    "t.conf:7: local.aliases.ALICE: 'alice' is a local user; an alias may not have a user's "
	    "name" },
	/* targets that are addresses: forwarded, or in a local domain looked up again */
#define LOCAL_AT "local {\n domains = [example.test, localhost]\n users = [postmaster, alice]\n"
	{ LOCAL_AT " aliases {\n info = \"alice, partner@other.example\"\n"
	    " fwd = [\"Partner@Other.Example\", \"b@c.example\"]\n"
	    " here = [\"Alice@LocalHost\", \"alice+x@example.test\", \"info@example.test\"]\n } }",
	    NULL },
	{ LOCAL_AT " aliases {\n a = \"carol@example.test\"\n } }",
	    "t.conf:7: local.aliases.a: 'carol@example.test' is not a local user or alias" },
	{ LOCAL_AT " aliases {\n a = \"alice+x@other.example, carol+x@localhost\"\n } }",
	    "t.conf:7: local.aliases.a: 'carol+x@localhost' is not a local user or alias" },
	{ LOCAL_AT " recipient_delimiter = \"\"\n aliases {\n a = \"alice+x@localhost\"\n } }",
	    "t.conf:8: local.aliases.a: 'alice+x@localhost' is not a local user or alias" },
	/* a bare name is a name: no +tag there */
	{ LOCAL_AT " recipient_delimiter = \"-\"\n aliases {\n a = \"alice-x\"\n } }",
	    "t.conf:8: local.aliases.a: 'alice-x' is not a local user or alias" },
	{ LOCAL_AT " aliases {\n a = \"b@example.test\"\n b = \"A@LocalHost\"\n } }",
	    "t.conf:7: alias loop: a -> b -> a" },
	{ LOCAL_AT " aliases {\n a = \"a+x@example.test\"\n } }", "t.conf:7: alias loop: a -> a" },
	/* the relay tricks, as RCPT TO refuses them: in an address or in a name */
	{ LOCAL_AT " aliases {\n a = \"u%other.example@relay.example\"\n } }",
	    "t.conf:7: local.aliases.a: 'u%other.example@relay.example' is refused: '%' in the local "
	    "part (the percent hack)" },
	{ LOCAL_AT " aliases {\n a = \"alice, u%other.example\"\n } }",
	    "t.conf:7: local.aliases.a: 'u%other.example' is refused: '%' in the local part (the "
	    "percent hack)" },
	{ LOCAL_AT " aliases {\n a = \"other.example!u@relay.example\"\n } }",
	    "t.conf:7: local.aliases.a: 'other.example!u@relay.example' is refused: '!' in the local "
	    "part (a bang path)" },
	{ LOCAL_AT " aliases {\n a = \"other.example!u\"\n } }",
	    "t.conf:7: local.aliases.a: 'other.example!u' is refused: '!' in the local part (a bang "
	    "path)" },
	{ LOCAL_AT " aliases {\n a = '\"u@other.example\"@relay.example'\n } }",
	    "t.conf:7: local.aliases.a: '\"u@other.example\"@relay.example' is refused: '@' in the "
	    "local part" },
	{ LOCAL_AT " aliases {\n a = '\"u\\\\@other.example\"@relay.example'\n } }",
	    "t.conf:7: local.aliases.a: '\"u\\@other.example\"@relay.example' is refused: '@' in the "
	    "local part" },
	{ LOCAL_AT " aliases {\n a = '\"u%other.example\"@relay.example'\n } }",
	    "t.conf:7: local.aliases.a: '\"u%other.example\"@relay.example' is refused: '%' in the "
	    "local part (the percent hack)" },
	{ LOCAL_AT " aliases {\n a = \"@relay.example:u@other.example\"\n } }",
	    "t.conf:7: local.aliases.a: '@relay.example:u@other.example' is refused: a source "
	    "route" },
	{ LOCAL_AT " aliases {\n a = \"u@[192.0.2.1]\"\n } }",
	    "t.conf:7: local.aliases.a: 'u@[192.0.2.1]' is refused: mail is not relayed to address "
	    "literals" },
	{ LOCAL_AT " aliases {\n a = \"j\xc3\xb6rg@other.example\"\n } }",
	    "t.conf:7: local.aliases.a: 'j\xc3\xb6rg@other.example' is not an ASCII address" },
	{ LOCAL_AT " aliases {\n a = \"u@@other.example\"\n } }",
	    "t.conf:7: local.aliases.a: 'u@@other.example' is not a valid address" },
	{ LOCAL_AT " aliases {\n a = \"u@other.example.\"\n } }",
	    "t.conf:7: local.aliases.a: 'u@other.example.' is not a valid address" },
	{ LOCAL_AT " aliases {\n a = '\"\"@other.example'\n } }",
	    "t.conf:7: local.aliases.a: '\"\"@other.example' is not a valid address" },
	{ LOCAL_AT " aliases {\n a = \"<u@other.example>\"\n } }",
	    "t.conf:7: local.aliases.a: '<u@other.example>' is not a valid address" },
	/* how far one address may expand: repeats count, each alias at most 16 deep */
	{ "local { max_alias_targets = 0 }", "t.conf:3: local.max_alias_targets: must be at least 1" },
	{ "local { max_alias_targets = 100001 }",
	    "t.conf:3: local.max_alias_targets: must be at most 100000" },
	{ LOCAL_AT " max_alias_targets = 3\n aliases {\n"
	    " all = [sales, \"x@other.example\"]\n sales = \"alice, y@other.example\"\n } }", NULL },
	{ LOCAL_AT " max_alias_targets = 3\n aliases {\n"
	    " sales = \"alice, y@other.example\"\n"
	    " all = [sales, \"x@other.example\", \"z@other.example\"]\n } }",
	    "t.conf:9: local.aliases.all: expands into more than 3 targets (local.max_alias_targets; "
	    "a target reached twice counts twice)" },
	{ LOCAL_AT " max_alias_targets = 3\n aliases {\n"
	    " all = [a, b]\n a = \"alice, postmaster\"\n b = \"alice, postmaster\"\n } }",
	    "t.conf:8: local.aliases.all: expands into more than 3 targets (local.max_alias_targets; "
	    "a target reached twice counts twice)" },
#undef LOCAL_AT
	/* postmaster: a user or an alias, once there are local domains */
	{ "local { domains = [example.test]; users = [alice]; aliases { postmaster = alice } }",
	    NULL },
	{ "local { domains = [example.test]; users = [PostMaster] }", NULL },
	{ "local { users = [alice] }", NULL },
	{ "local {\n domains = [example.test]\n users = [alice] }",
	    "t.conf:4: local.domains: 'postmaster' must be a local user or an alias when "
	    "local.domains is set (RFC 5321 4.5.1)" },
	/* retry interval */
	{ "queue { retry_min = 1h }", NULL },
	{ "queue { retry_min = 61min }",
	    "t.conf:3: queue.retry_min (61min) must not be greater than queue.retry_max (1h)" },
	{ "queue {\n retry_max = 1min\n}",
	    "t.conf:4: queue.retry_min (5min) must not be greater than queue.retry_max (1min)" },
};

static void
test_load_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(load_cases); i++) {
		char err[1024] = "", *text;
		struct config *c;
		struct buf b;

		buf_init(&b, SIZE_MAX);
		buf_printf(&b, "%s%s\n", BASE, load_cases[i].text);
		text = xstrdup(buf_cstr(&b));
		buf_clear(&b);
		c = load_text(text, err, sizeof(err));
		if (load_cases[i].want == NULL && c == NULL)
			fail_msg("case %zu: %s\n want: success\n  got: %s", i, load_cases[i].text,
			    err);
		if (load_cases[i].want != NULL && c != NULL)
			fail_msg("case %zu: %s\n want: %s\n  got: success", i, load_cases[i].text,
			    load_cases[i].want);
		if (c == NULL && strcmp(err, load_cases[i].want) != 0)
			fail_msg("case %zu: %s\n want: %s\n  got: %s", i, load_cases[i].text,
			    load_cases[i].want, err);
		config_free(&c);
		assert_null(c);
		free(text);
	}
}

/* The defaults of every key, from a file that sets only what it must. */
static void
test_defaults(void **state)
{
	char err[1024];
	struct config *c = config_load(CONFIGS "/good-minimal.conf", err, sizeof(err));
	const struct sockaddr_in *sin;

	(void)state;
	if (c == NULL)
		fail_msg("%s", err);
	assert_string_equal(c->path, CONFIGS "/good-minimal.conf");
	assert_string_equal(c->hostname, "mx.example.test");
	assert_string_equal(c->user, "");
	assert_int_equal(c->max_sessions, 1000);
	assert_int_equal(c->io_threads, 2);
	assert_int_equal(c->log_level, LOG_INFO);
	assert_int_equal(c->is_sandboxed, 1);
	assert_int_equal(c->nlisteners, 1);
	assert_string_equal(c->listeners[0].name, "mx");
	assert_string_equal(c->listeners[0].address, "127.0.0.1:2525");
	assert_int_equal(c->listeners[0].sa_len, sizeof(struct sockaddr_in));
	sin = (const struct sockaddr_in *)(const void *)&c->listeners[0].sa;
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), 2525);
	assert_int_equal(ntohl(sin->sin_addr.s_addr), 0x7f000001);
	assert_int_equal(c->listeners[0].greeting_delay_ms, 0);
	assert_int_equal(c->listeners[0].offers_starttls, 1);
	assert_int_equal(c->listeners[0].is_implicit_tls, 0);
	assert_int_equal(c->listeners[0].line, 4);
	assert_int_equal(c->ncerts, 0);
	assert_int_equal(c->tls_handshake_timeout_ms, 30000);
	assert_int_equal(c->max_line_bytes, 512);
	assert_int_equal(c->max_text_line_bytes, 1000);
	assert_int_equal(c->max_message_bytes, 36700160);
	assert_int_equal(c->max_recipients, 100);
	assert_int_equal(c->max_errors, 20);
	assert_int_equal(c->idle_timeout_ms, 300000);
	assert_string_equal(c->spool_dir, "/var/spool/sterna");
	assert_int_equal(c->min_free_bytes, 36700160 + 36700160 / 2);
	assert_int_equal(c->nlocal_domains, 0);
	assert_int_equal(c->nlocal_users, 0);
	assert_int_equal(c->naliases, 0);
	assert_string_equal(c->mailbox_root, "/var/vmail");
	assert_int_equal(c->recipient_delimiter, '+');
	assert_int_equal(c->max_alias_targets, 1000);
	assert_int_equal(c->retry_min_s, 300);
	assert_int_equal(c->retry_max_s, 3600);
	assert_int_equal(c->lifetime_s, 5 * 86400);
	/* no HTTP listener unless one is configured */
	assert_int_equal(c->nhttp_listeners, 0);
	assert_string_equal(c->http_keys_file, "");
	assert_int_equal(c->http_max_body_bytes, 50 * 1024 * 1024);
	assert_int_equal(c->http_max_header_bytes, 16384);
	assert_int_equal(c->http_max_headers, 64);
	assert_int_equal(c->http_max_json_depth, 16);
	assert_int_equal(c->http_max_connections, 256);
	assert_int_equal(c->http_max_requests_per_connection, 1000);
	assert_int_equal(c->http_idle_timeout_ms, 60000);
	assert_int_equal(c->http_request_timeout_ms, 30000);
	assert_int_equal(c->http_requests_per_minute, 600);
	assert_int_equal(c->ntrusted_networks, 0);	/* never an open relay */
	assert_int_equal(config_is_local_domain(c, "example.test"), 0);
	config_free(&c);
	assert_null(c);
	config_free(&c);	/* NULL is fine */
}

/* Every key set away from its default, in every form of the syntax, with an include. */
static void
test_full(void **state)
{
	char err[1024], dir[PATH_MAX], want[PATH_MAX + 32];
	struct config *c = config_load(CONFIGS "/good-full.conf", err, sizeof(err));
	const struct sockaddr_in6 *sin6;

	(void)state;
	if (c == NULL)
		fail_msg("%s", err);
	assert_string_equal(c->hostname, "mx.example.test");
	assert_string_equal(c->user, "sterna");
	assert_int_equal(c->max_sessions, 5000);
	assert_int_equal(c->io_threads, 4);
	assert_int_equal(c->log_level, LOG_DEBUG);
	assert_int_equal(c->is_sandboxed, 0);

	assert_int_equal(c->nlisteners, 2);
	assert_string_equal(c->listeners[0].name, "mx");
	assert_int_equal(c->listeners[0].greeting_delay_ms, 1500);
	assert_int_equal(c->listeners[0].line, 13);
	assert_string_equal(c->listeners[1].name, "submission");
	assert_string_equal(c->listeners[1].address, "[::1]:2587");
	assert_int_equal(c->listeners[1].sa_len, sizeof(struct sockaddr_in6));
	sin6 = (const struct sockaddr_in6 *)(const void *)&c->listeners[1].sa;
	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(sin6->sin6_port), 2587);
	assert_true(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));
	assert_int_equal(c->listeners[1].greeting_delay_ms, 0);
	assert_int_equal(c->listeners[0].offers_starttls, 0);
	assert_int_equal(c->listeners[1].is_implicit_tls, 1);

	assert_int_equal(c->tls_handshake_timeout_ms, 10000);
	assert_int_equal(c->ncerts, 2);
	assert_string_equal(c->certs[0].name, "mx");
	assert_non_null(realpath(SRCDIR, dir));
	snprintf(want, sizeof(want), "%s/configs/tls/mx.pem", dir);
	assert_string_equal(c->certs[0].chain, want);
	assert_string_equal(c->certs[0].key, "/etc/sterna/mx.key");
	assert_string_equal(c->certs[0].chain_file, CONFIGS "/good-full.conf");
	assert_int_equal(c->certs[0].chain_line, 27);
	assert_int_equal(c->certs[0].key_line, 28);
	assert_string_equal(c->certs[1].name, "other-name");

	assert_int_equal(c->max_line_bytes, 1024);
	assert_int_equal(c->max_text_line_bytes, 2000);
	assert_int_equal(c->max_message_bytes, 10 * 1024 * 1024);
	assert_int_equal(c->max_recipients, 1000);
	assert_int_equal(c->max_errors, 10);
	assert_int_equal(c->idle_timeout_ms, 120000);

	/* ../var/spool from configs/: the directory of the file, not ours */
	assert_non_null(realpath(SRCDIR, dir));
	snprintf(want, sizeof(want), "%s/var/spool", dir);
	assert_string_equal(c->spool_dir, want);
	assert_int_equal(c->min_free_bytes, 1024ull * 1024 * 1024);

	assert_int_equal(c->nlocal_domains, 2);
	assert_string_equal(c->local_domains[0], "example.test");
	assert_string_equal(c->local_domains[1], "localhost");
	assert_int_equal(config_is_local_domain(c, "example.test"), 1);
	assert_int_equal(config_is_local_domain(c, "localhost"), 1);
	assert_int_equal(config_is_local_domain(c, "example.org"), 0);
	assert_int_equal(config_is_local_domain(c, "test"), 0);
	assert_int_equal(c->nlocal_users, 4);
	assert_string_equal(c->local_users[0], "postmaster");
	assert_string_equal(c->local_users[3], "1234");
	assert_string_equal(c->mailbox_root, "/srv/mail");
	assert_int_equal(c->recipient_delimiter, '-');
	assert_int_equal(c->naliases, 4);
	assert_string_equal(c->aliases[0].name, "info");
	assert_int_equal(c->aliases[0].ntargets, 2);
	assert_string_equal(c->aliases[0].targets[0], "alice");
	assert_string_equal(c->aliases[0].targets[1], "bob");
	assert_int_equal(c->aliases[0].line, 55);
	assert_string_equal(c->aliases[1].name, "sales");
	assert_int_equal(c->aliases[1].ntargets, 2);
	assert_string_equal(c->aliases[1].targets[0], "info");
	assert_string_equal(c->aliases[1].targets[1], "bob");
	assert_string_equal(c->aliases[2].name, "postmaster-alias");
	assert_int_equal(c->aliases[2].line, 5);	/* in the included file */
	/* addresses: the local part as written, the domain lowercased */
	assert_string_equal(c->aliases[3].name, "partners");
	assert_int_equal(c->aliases[3].ntargets, 3);
	assert_string_equal(c->aliases[3].targets[0], "Partner@other.example");
	assert_string_equal(c->aliases[3].targets[1], "alice@localhost");
	assert_string_equal(c->aliases[3].targets[2], "bob-x@example.test");
	assert_int_equal(c->max_alias_targets, 50);

	assert_int_equal(c->retry_min_s, 30);
	assert_int_equal(c->retry_max_s, 7200);
	assert_int_equal(c->lifetime_s, 7 * 86400);

	assert_int_equal(c->ntrusted_networks, 1);
	assert_int_equal(c->trusted_networks[0].family, AF_INET6);
	assert_int_equal(c->trusted_networks[0].prefix_bits, 128);

	assert_int_equal(c->nhttp_listeners, 2);
	assert_string_equal(c->http_listeners[0].name, "api");
	assert_int_equal(c->http_listeners[0].is_implicit_tls, 0);
	assert_string_equal(c->http_listeners[1].address, "[::1]:8443");
	assert_int_equal(c->http_listeners[1].is_implicit_tls, 1);
	snprintf(want, sizeof(want), "%s/configs/api_keys", dir);
	assert_string_equal(c->http_keys_file, want);
	assert_int_equal(c->http_max_body_bytes, 2 * 1024 * 1024);
	assert_int_equal(c->http_max_header_bytes, 8192);
	assert_int_equal(c->http_max_headers, 32);
	assert_int_equal(c->http_max_json_depth, 8);
	assert_int_equal(c->http_max_connections, 100);
	assert_int_equal(c->http_max_requests_per_connection, 50);
	assert_int_equal(c->http_idle_timeout_ms, 10000);
	assert_int_equal(c->http_request_timeout_ms, 5000);
	assert_int_equal(c->http_requests_per_minute, 0);
	config_free(&c);
}

/* milter "NAME" { }: addresses, defaults, and the lists naming them, resolved in order. */
static void
test_milters(void **state)
{
	char err[1024];
	struct config *c;

	(void)state;
	c = load_text("server { hostname = \"mx.example.test\"; local_milters = \"dkim\"; }\n"
	    "listen \"mx\" { address = \"127.0.0.1:2525\"; milters = \"spam, dkim\"; }\n"
	    "listen \"sub\" { address = \"127.0.0.1:2587\"; }\n"
	    "milter \"dkim\" { address = \"unix:/run/opendkim/opendkim.sock\"; }\n"
	    "milter \"spam\" { address = \"inet:[::1]:11332\"; connect_timeout = 1s;\n"
	    "  command_timeout = 2s; eom_timeout = 3s; default_action = accept; }\n",
	    err, sizeof(err));
	if (c == NULL)
		fail_msg("%s", err);
	assert_int_equal(c->nmilters, 2);
	assert_string_equal(c->milters[0].name, "dkim");
	assert_int_equal(c->milters[0].sa.ss_family, AF_UNIX);
	assert_int_equal(c->milters[0].connect_timeout_ms, 5000);
	assert_int_equal(c->milters[0].command_timeout_ms, 30000);
	assert_int_equal(c->milters[0].eom_timeout_ms, 120000);
	assert_string_equal(c->milters[0].default_action, "tempfail");
	assert_int_equal(c->milters[0].is_default_accept, 0);
	assert_int_equal(c->milters[1].sa.ss_family, AF_INET6);
	assert_int_equal(c->milters[1].connect_timeout_ms, 1000);
	assert_int_equal(c->milters[1].command_timeout_ms, 2000);
	assert_int_equal(c->milters[1].eom_timeout_ms, 3000);
	assert_int_equal(c->milters[1].is_default_accept, 1);
	assert_int_equal(c->listeners[0].nmilters, 2);
	assert_int_equal(c->listeners[0].milter_idx[0], 1);
	assert_int_equal(c->listeners[0].milter_idx[1], 0);
	assert_int_equal(c->listeners[1].nmilters, 0);
	assert_int_equal(c->nlocal_milters, 1);
	assert_int_equal(c->local_milter_idx[0], 0);
	config_free(&c);

	/* the address forms, alone */
	{
		static const struct { const char *s; int ok; unsigned port; } addrs[] = {
			{ "inet:127.0.0.1:8891", 1, 8891 }, { "inet:[::1]:11332", 1, 11332 },
			{ "inet:[2001:db8::1]:1", 1, 1 }, { "unix:/run/m.sock", 1, 0 },
			{ "inet:::1:8891", 0, 0 }, { "inet:[127.0.0.1]:8891", 0, 0 },
			{ "inet:127.0.0.1:0", 0, 0 }, { "inet:127.0.0.1:65536", 0, 0 },
			{ "inet:127.0.0.1:", 0, 0 }, { "inet:127.0.0.1", 0, 0 },
			{ "inet:127.0.0.1:88x", 0, 0 }, { "127.0.0.1:8891", 0, 0 },
			{ "tcp:127.0.0.1:8891", 0, 0 }, { "unix:", 0, 0 },
		};
		struct config_lmtp_hop hop;

		for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
			if ((config_milter_address_parse(addrs[i].s, &hop) == 0) != addrs[i].ok)
				fail_msg("%s", addrs[i].s);
			if (addrs[i].ok && addrs[i].port != 0)
				assert_int_equal(hop.port, addrs[i].port);
		}
	}
	static const struct { const char *text, *err; } bad[] = {
		{ BASE "milter \"m\" { address = \"inet:localhost:8891\"; }",
		    "t.conf:3: milter.m.address: 'inet:localhost:8891' is not a milter address "
		    "(unix:/path, inet:ADDRESS:PORT or inet:[IPv6]:PORT, a numeric address)" },
		{ BASE "milter \"m\" { address = \"unix:run/x.sock\"; }",
		    "t.conf:3: milter.m.address: 'unix:run/x.sock' is not a milter address "
		    "(unix:/path, inet:ADDRESS:PORT or inet:[IPv6]:PORT, a numeric address)" },
		{ BASE "milter \"m\" { address = \"inet:unix:/x\"; }",
		    "t.conf:3: milter.m.address: 'inet:unix:/x' is not a milter address "
		    "(unix:/path, inet:ADDRESS:PORT or inet:[IPv6]:PORT, a numeric address)" },
		{ BASE "milter \"m\" { connect_timeout = 1s; }",
		    "t.conf:3: milter.m.address: required, as address = \"unix:/run/milter.sock\" "
		    "or \"inet:127.0.0.1:8891\"" },
		{ BASE "milter \"m\" { address = \"unix:/x\"; default_action = reject; }",
		    "t.conf:3: milter.m.default_action: 'reject' is not tempfail or accept" },
		{ BASE "milter { address = \"unix:/x\"; }",
		    "t.conf:3: milter.address: milters have names: write milter \"NAME\" "
		    "{ address = ...; }" },
		{ "server { hostname = \"mx.example.test\"; }\n"
		    "listen \"mx\" { address = \"127.0.0.1:2525\"; milters = \"nope\"; }",
		    "t.conf:2: listen.mx.milters: no milter \"nope\" { } is configured" },
		{ "server { hostname = \"mx.example.test\"; local_milters = \"m, m\"; }\n"
		    "listen \"mx\" { address = \"127.0.0.1:2525\"; }\n"
		    "milter \"m\" { address = \"unix:/x\"; }",
		    "t.conf:1: server.local_milters: milter \"m\" is named twice" },
		{ BASE "milter \"m\" { address = \"unix:/x\"; command_timeout = 11min; }",
		    "t.conf:3: milter.m.command_timeout: must be at most 10min" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = load_text(bad[i].text, err, sizeof(err));
		if (c != NULL)
			fail_msg("case %zu loaded", i);
		if (strcmp(err, bad[i].err) != 0)
			fail_msg("case %zu: %s", i, err);
	}
}

/* The example that `make run` uses must stay valid and say what its comments say. */
static void
test_example(void **state)
{
	char err[1024], dir[PATH_MAX], want[PATH_MAX + 32];
	struct config *c = config_load(SRCDIR "/../../examples/sterna.conf", err, sizeof(err));

	(void)state;
	if (c == NULL)
		fail_msg("%s", err);
	assert_string_equal(c->hostname, "mx.example.test");
	assert_int_equal(c->nlisteners, 3);
	assert_string_equal(c->listeners[0].name, "mx");
	assert_string_equal(c->listeners[0].address, "127.0.0.1:2525");
	assert_string_equal(c->listeners[1].address, "127.0.0.1:2587");
	assert_int_equal(c->listeners[1].offers_starttls, 1);
	assert_string_equal(c->listeners[2].address, "127.0.0.1:2465");
	assert_int_equal(c->listeners[2].is_implicit_tls, 1);
	assert_int_equal(c->ncerts, 1);
	assert_int_equal(config_is_local_domain(c, "example.test"), 1);
	assert_int_equal(config_is_local_domain(c, "localhost"), 1);
	assert_int_equal(c->nlocal_users, 3);
	assert_int_equal(c->ntrusted_networks, 2);	/* loopback relays, as its comment says */
	assert_int_equal(c->naliases, 1);
	assert_string_equal(c->aliases[0].name, "info");
	assert_int_equal(c->aliases[0].ntargets, 2);
	assert_non_null(realpath(SRCDIR "/../..", dir));
	snprintf(want, sizeof(want), "%s/var/spool", dir);
	assert_string_equal(c->spool_dir, want);
	snprintf(want, sizeof(want), "%s/var/mail", dir);
	assert_string_equal(c->mailbox_root, want);
	snprintf(want, sizeof(want), "%s/var/tls/cert.pem", dir);
	assert_string_equal(c->certs[0].chain, want);
	/* the HTTP API on loopback, its keys beside the spool */
	assert_int_equal(c->nhttp_listeners, 1);
	assert_string_equal(c->http_listeners[0].address, "127.0.0.1:8025");
	assert_int_equal(c->http_listeners[0].is_implicit_tls, 0);
	snprintf(want, sizeof(want), "%s/var/api_keys", dir);
	assert_string_equal(c->http_keys_file, want);
	config_free(&c);
}

/* Relative paths against the current directory when the file has no directory part. */
static void
test_relative_path(void **state)
{
	char err[1024], cwd[PATH_MAX], want[PATH_MAX + 32];
	struct config *c;

	(void)state;
	c = load_text(BASE "spool { dir = \"./a/../b//c/.\" }\nlocal { mailbox_root = \"..\" }",
	    err, sizeof(err));
	if (c == NULL)
		fail_msg("%s", err);
	assert_non_null(realpath(".", cwd));
	snprintf(want, sizeof(want), "%s/b/c", cwd);
	assert_string_equal(c->spool_dir, want);
	*strrchr(cwd, '/') = '\0';
	assert_string_equal(c->mailbox_root, cwd[0] ? cwd : "/");
	config_free(&c);
	c = load_text(BASE "spool { dir = \"/x/../y\" }", err, sizeof(err));
	assert_non_null(c);
	assert_string_equal(c->spool_dir, "/x/../y");	/* absolute: as written */
	config_free(&c);
}

/* Without server.hostname the machine's name is used, if it is fully qualified. */
static void
test_default_hostname(void **state)
{
	char err[1024], name[256] = "";
	struct config *c;

	(void)state;
	assert_int_equal(gethostname(name, sizeof(name) - 1), 0);
	c = load_text("listen \"mx\" { address = \"127.0.0.1:25\" }", err, sizeof(err));
	if (strchr(name, '.') != NULL) {
		if (c == NULL)
			fail_msg("%s", err);
		assert_string_equal(c->hostname, name);
	} else {
		char want[512];

		assert_null(c);
		snprintf(want, sizeof(want), "t.conf:1: server.hostname: not set, and this "
		    "machine's name '%s' is not a fully qualified domain name; set server.hostname",
		    name);
		assert_string_equal(err, want);
	}
	config_free(&c);
}

/* A message cut to fit err ends in "..." and is still a string. */
static void
test_small_err(void **state)
{
	char err[16];

	(void)state;
	assert_null(load_text("smtp { x = 1 }", err, sizeof(err)));
	assert_string_equal(err, "t.conf:1: un...");
	assert_null(config_load(CONFIGS "/bad/duplicate-key.conf", err, 1));
	assert_string_equal(err, "");
}

static void
test_files(void **state)
{
	char err[1024], path[PATH_MAX];
	const char *tmp = getenv("TMPDIR");
	FILE *f;

	(void)state;
	assert_null(config_load(CONFIGS "/no-such.conf", err, sizeof(err)));
	assert_string_equal(err, CONFIGS "/no-such.conf: cannot read: No such file or directory");
	assert_null(config_load(CONFIGS, err, sizeof(err)));
	assert_string_equal(err, CONFIGS ": cannot read: not a regular file");

	/* a file over 1 MiB, made here rather than kept in the tree */
	snprintf(path, sizeof(path), "%s/sterna-test-config-XXXXXX", tmp ? tmp : P_tmpdir);
	{
		int fd = mkstemp(path);

		assert_true(fd != -1);
		f = fdopen(fd, "w");
	}
	assert_non_null(f);
	for (size_t i = 0; i < UCL_MAX_FILE_BYTES + 1; i++)
		fputc(i % 64 == 63 ? '\n' : '#', f);
	assert_int_equal(fclose(f), 0);
	assert_null(config_load(path, err, sizeof(err)));
	{
		char want[PATH_MAX + 64];

		snprintf(want, sizeof(want), "%s: larger than 1 MiB", path);
		assert_string_equal(err, want);
	}
	assert_int_equal(unlink(path), 0);
}

/* Removes every "dir" from s, in place. */
static void
strip_dir(char *s, const char *dir)
{
	size_t n = strlen(dir);
	char *p;

	while ((p = strstr(s, dir)) != NULL)
		memmove(p, p + n, strlen(p + n) + 1);
}

/*
 * A chain of n aliases, a0 -> a1 -> ... -> alice: local.c expands
 * CONFIG_ALIAS_DEPTH_MAX of them, so a longer chain must not load (it would
 * lose alice without a word). Returns the config or NULL with err.
 */
static struct config *
load_chain(unsigned n, char *err, size_t errsize)
{
	struct config *c;
	struct buf b;
	char *text;

	buf_init(&b, SIZE_MAX);
	buf_printf(&b, "%slocal {\n users = [alice]\n aliases {\n", BASE);
	for (unsigned i = 0; i + 1 < n; i++)
		buf_printf(&b, " a%u = a%u\n", i, i + 1);
	buf_printf(&b, " a%u = alice\n } }\n", n - 1);
	text = xstrdup(buf_cstr(&b));
	buf_clear(&b);
	c = load_text(text, err, errsize);
	free(text);
	return c;
}

static void
test_alias_depth(void **state)
{
	char err[1024] = "";
	struct config *c = load_chain(CONFIG_ALIAS_DEPTH_MAX, err, sizeof(err));

	(void)state;
	if (c == NULL)
		fail_msg("%s", err);
	config_free(&c);
	assert_null(load_chain(CONFIG_ALIAS_DEPTH_MAX + 1, err, sizeof(err)));
	assert_string_equal(err, "t.conf:6: local.aliases.a0: aliases nested more than 16 deep");
	/* a long chain is refused by its depth, quickly, and without deep recursion */
	assert_null(load_chain(50000, err, sizeof(err)));
	assert_string_equal(err, "t.conf:6: local.aliases.a0: aliases nested more than 16 deep");
}

/* configs/bad/NAME.conf fails with NAME.expect's first line; see the top of this file. */
static void
test_bad_files(void **state)
{
	DIR *d = opendir(BAD);
	struct dirent *e;
	size_t nconf = 0, nexpect = 0;

	(void)state;
	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		char path[PATH_MAX], want[1024] = "", err[2048] = "";
		struct config *c;
		FILE *f;

		if (len > 7 && strcmp(e->d_name + len - 7, ".expect") == 0) {
			/* every .expect has its .conf */
			snprintf(path, sizeof(path), BAD "%.*s.conf", (int)(len - 7), e->d_name);
			assert_int_equal(access(path, R_OK), 0);
			nexpect++;
			continue;
		}
		if (len <= 5 || strcmp(e->d_name + len - 5, ".conf") != 0)
			continue;
		nconf++;
		snprintf(path, sizeof(path), BAD "%.*s.expect", (int)(len - 5), e->d_name);
		f = fopen(path, "r");
		if (f == NULL)
			fail_msg("%s has no .expect", e->d_name);
		if (fgets(want, sizeof(want), f) == NULL)
			want[0] = '\0';
		fclose(f);
		want[strcspn(want, "\n")] = '\0';
		snprintf(path, sizeof(path), BAD "%s", e->d_name);
		c = config_load(path, err, sizeof(err));
		if (c != NULL)
			fail_msg("%s loaded; want: %s", e->d_name, want);
		strip_dir(err, BAD);
		if (strcmp(err, want) != 0)
			fail_msg("%s\n want: %s\n  got: %s", e->d_name, want, err);
	}
	closedir(d);
	assert_int_equal(nconf, nexpect);
	assert_true(nconf >= 25);
}

/* ---- LMTP next hops ---- */

static const struct {
	const char *in;
	int want;			/* 0 or -1 */
	int family;			/* of sa: AF_UNIX, AF_INET, AF_INET6; 0 for a name */
	const char *host;		/* the name or address; for a socket, its path */
	unsigned port;
} lmtp_hops[] = {
	{ "unix:/run/dovecot/lmtp", 0, AF_UNIX, "/run/dovecot/lmtp", 0 },
	{ "unix:/x", 0, AF_UNIX, "/x", 0 },
	{ "unix:run/dovecot/lmtp", -1, 0, NULL, 0 },		/* relative */
	{ "unix:", -1, 0, NULL, 0 },
	{ "unix:/a\tb", -1, 0, NULL, 0 },			/* control byte */
	{ "UNIX:/run/lmtp", -1, 0, NULL, 0 },
	{ "[127.0.0.1]:24", 0, AF_INET, "127.0.0.1", 24 },
	{ "[::1]:2424", 0, AF_INET6, "::1", 2424 },
	{ "[IPv6:::1]:24", -1, 0, NULL, 0 },
	{ "mailstore.example.test:24", 0, 0, "mailstore.example.test", 24 },
	{ "[Mailstore.Example.test]:24", 0, 0, "mailstore.example.test", 24 },	/* no MX anyway */
	{ "127.0.0.1:24", -1, 0, NULL, 0 },			/* an address goes in brackets */
	{ "mailstore.example.test", -1, 0, NULL, 0 },		/* no port */
	{ "[127.0.0.1]", -1, 0, NULL, 0 },
	{ "[127.0.0.1]:25", -1, 0, NULL, 0 },			/* RFC 2033: never SMTP's port */
	{ "[127.0.0.1]:0", -1, 0, NULL, 0 },
	{ "[127.0.0.1]:65536", -1, 0, NULL, 0 },
	{ "lmtp.example.test:24x", -1, 0, NULL, 0 },
	{ "", -1, 0, NULL, 0 },
};

static void
test_lmtp_hop(void **state)
{
	char longpath[160];
	struct config_lmtp_hop h;

	(void)state;
	for (size_t i = 0; i < sizeof(lmtp_hops) / sizeof(lmtp_hops[0]); i++) {
		int rc = config_lmtp_hop_parse(lmtp_hops[i].in, &h);

		if (rc != lmtp_hops[i].want)
			fail_msg("'%s': got %d", lmtp_hops[i].in, rc);
		if (rc == -1)
			continue;
		assert_int_equal(h.port, lmtp_hops[i].port);
		if (lmtp_hops[i].family == 0) {
			assert_int_equal(h.sa_len, 0);	/* a name: looked up first */
			assert_string_equal(h.host, lmtp_hops[i].host);
		} else if (lmtp_hops[i].family == AF_UNIX) {
			const struct sockaddr_un *su = (const void *)&h.sa;

			assert_int_equal(su->sun_family, AF_UNIX);
			assert_string_equal(h.host, "");
			assert_string_equal(su->sun_path, lmtp_hops[i].host);
			/* what connect() wants: the path and its NUL, no more */
			assert_int_equal(h.sa_len, offsetof(struct sockaddr_un, sun_path) +
			    strlen(lmtp_hops[i].host) + 1);
		} else if (lmtp_hops[i].family == AF_INET) {
			const struct sockaddr_in *s4 = (const void *)&h.sa;
			char ip[INET_ADDRSTRLEN];

			assert_int_equal(h.sa_len, sizeof(*s4));
			assert_int_equal(s4->sin_family, AF_INET);
			assert_int_equal(ntohs(s4->sin_port), lmtp_hops[i].port);
			assert_string_equal(inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip)),
			    lmtp_hops[i].host);
			assert_string_equal(h.host, lmtp_hops[i].host);
		} else {
			const struct sockaddr_in6 *s6 = (const void *)&h.sa;
			char ip[INET6_ADDRSTRLEN];

			assert_int_equal(h.sa_len, sizeof(*s6));
			assert_int_equal(s6->sin6_family, AF_INET6);
			assert_int_equal(ntohs(s6->sin6_port), lmtp_hops[i].port);
			assert_string_equal(inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip)),
			    lmtp_hops[i].host);
		}
	}
	/* the longest path a sockaddr_un holds, and one byte more */
	memset(longpath, 'a', sizeof(longpath));
	memcpy(longpath, "unix:/", 6);
	longpath[5 + sizeof(((struct sockaddr_un *)0)->sun_path) - 1] = '\0';
	assert_int_equal(config_lmtp_hop_parse(longpath, &h), 0);
	assert_int_equal(h.sa_len, sizeof(struct sockaddr_un));
	longpath[5 + sizeof(((struct sockaddr_un *)0)->sun_path) - 1] = 'a';
	longpath[5 + sizeof(((struct sockaddr_un *)0)->sun_path)] = '\0';
	assert_int_equal(config_lmtp_hop_parse(longpath, &h), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_many_keys),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_include),
		cmocka_unit_test(test_include_depth),
		cmocka_unit_test(test_load_cases),
		cmocka_unit_test(test_alias_depth),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_relative_path),
		cmocka_unit_test(test_default_hostname),
		cmocka_unit_test(test_small_err),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_lmtp_hop),
		cmocka_unit_test(test_milters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
