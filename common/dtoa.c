/*
 * dtoa.c — doubles as the shortest text that reads back as the same
 * number, formatted the way PostgreSQL's float8out writes them.
 *
 * Tusk receives float4/float8 values as msgpack floats; the CLI turns them
 * back into text for CSV, tables and JSON, a million times per large
 * result. glibc's printf("%.17g") is exact but slow (multi-precision), and
 * it is not shortest; trying precisions 15..17 with strtod round trips
 * costs up to six such calls per value. This is Grisu2 (Loitsch 2010,
 * "Printing Floating-Point Numbers Quickly and Accurately with Integers"):
 * 64-bit integer arithmetic with a table of cached powers of ten. Its
 * output always reads back as the same double; in rare cases it is one
 * digit longer than the shortest form (never wrong). The table was made
 * with exact rational arithmetic (scripts: see docs/decisions.md).
 */
#include "dtoa.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct diyfp {
	uint64_t f;
	int e;
};

static const struct {
	uint64_t f;
	int e;
} cached_powers[87] = {
	{ 0xfa8fd5a0081c0288ULL, -1220 },  /* 1e-348 */
	{ 0xbaaee17fa23ebf76ULL, -1193 },  /* 1e-340 */
	{ 0x8b16fb203055ac76ULL, -1166 },  /* 1e-332 */
	{ 0xcf42894a5dce35eaULL, -1140 },  /* 1e-324 */
	{ 0x9a6bb0aa55653b2dULL, -1113 },  /* 1e-316 */
	{ 0xe61acf033d1a45dfULL, -1087 },  /* 1e-308 */
	{ 0xab70fe17c79ac6caULL, -1060 },  /* 1e-300 */
	{ 0xff77b1fcbebcdc4fULL, -1034 },  /* 1e-292 */
	{ 0xbe5691ef416bd60cULL, -1007 },  /* 1e-284 */
	{ 0x8dd01fad907ffc3cULL, -980 },  /* 1e-276 */
	{ 0xd3515c2831559a83ULL, -954 },  /* 1e-268 */
	{ 0x9d71ac8fada6c9b5ULL, -927 },  /* 1e-260 */
	{ 0xea9c227723ee8bcbULL, -901 },  /* 1e-252 */
	{ 0xaecc49914078536dULL, -874 },  /* 1e-244 */
	{ 0x823c12795db6ce57ULL, -847 },  /* 1e-236 */
	{ 0xc21094364dfb5637ULL, -821 },  /* 1e-228 */
	{ 0x9096ea6f3848984fULL, -794 },  /* 1e-220 */
	{ 0xd77485cb25823ac7ULL, -768 },  /* 1e-212 */
	{ 0xa086cfcd97bf97f4ULL, -741 },  /* 1e-204 */
	{ 0xef340a98172aace5ULL, -715 },  /* 1e-196 */
	{ 0xb23867fb2a35b28eULL, -688 },  /* 1e-188 */
	{ 0x84c8d4dfd2c63f3bULL, -661 },  /* 1e-180 */
	{ 0xc5dd44271ad3cdbaULL, -635 },  /* 1e-172 */
	{ 0x936b9fcebb25c996ULL, -608 },  /* 1e-164 */
	{ 0xdbac6c247d62a584ULL, -582 },  /* 1e-156 */
	{ 0xa3ab66580d5fdaf6ULL, -555 },  /* 1e-148 */
	{ 0xf3e2f893dec3f126ULL, -529 },  /* 1e-140 */
	{ 0xb5b5ada8aaff80b8ULL, -502 },  /* 1e-132 */
	{ 0x87625f056c7c4a8bULL, -475 },  /* 1e-124 */
	{ 0xc9bcff6034c13053ULL, -449 },  /* 1e-116 */
	{ 0x964e858c91ba2655ULL, -422 },  /* 1e-108 */
	{ 0xdff9772470297ebdULL, -396 },  /* 1e-100 */
	{ 0xa6dfbd9fb8e5b88fULL, -369 },  /* 1e-92 */
	{ 0xf8a95fcf88747d94ULL, -343 },  /* 1e-84 */
	{ 0xb94470938fa89bcfULL, -316 },  /* 1e-76 */
	{ 0x8a08f0f8bf0f156bULL, -289 },  /* 1e-68 */
	{ 0xcdb02555653131b6ULL, -263 },  /* 1e-60 */
	{ 0x993fe2c6d07b7facULL, -236 },  /* 1e-52 */
	{ 0xe45c10c42a2b3b06ULL, -210 },  /* 1e-44 */
	{ 0xaa242499697392d3ULL, -183 },  /* 1e-36 */
	{ 0xfd87b5f28300ca0eULL, -157 },  /* 1e-28 */
	{ 0xbce5086492111aebULL, -130 },  /* 1e-20 */
	{ 0x8cbccc096f5088ccULL, -103 },  /* 1e-12 */
	{ 0xd1b71758e219652cULL, -77 },  /* 1e-4 */
	{ 0x9c40000000000000ULL, -50 },  /* 1e4 */
	{ 0xe8d4a51000000000ULL, -24 },  /* 1e12 */
	{ 0xad78ebc5ac620000ULL, 3 },  /* 1e20 */
	{ 0x813f3978f8940984ULL, 30 },  /* 1e28 */
	{ 0xc097ce7bc90715b3ULL, 56 },  /* 1e36 */
	{ 0x8f7e32ce7bea5c70ULL, 83 },  /* 1e44 */
	{ 0xd5d238a4abe98068ULL, 109 },  /* 1e52 */
	{ 0x9f4f2726179a2245ULL, 136 },  /* 1e60 */
	{ 0xed63a231d4c4fb27ULL, 162 },  /* 1e68 */
	{ 0xb0de65388cc8ada8ULL, 189 },  /* 1e76 */
	{ 0x83c7088e1aab65dbULL, 216 },  /* 1e84 */
	{ 0xc45d1df942711d9aULL, 242 },  /* 1e92 */
	{ 0x924d692ca61be758ULL, 269 },  /* 1e100 */
	{ 0xda01ee641a708deaULL, 295 },  /* 1e108 */
	{ 0xa26da3999aef774aULL, 322 },  /* 1e116 */
	{ 0xf209787bb47d6b85ULL, 348 },  /* 1e124 */
	{ 0xb454e4a179dd1877ULL, 375 },  /* 1e132 */
	{ 0x865b86925b9bc5c2ULL, 402 },  /* 1e140 */
	{ 0xc83553c5c8965d3dULL, 428 },  /* 1e148 */
	{ 0x952ab45cfa97a0b3ULL, 455 },  /* 1e156 */
	{ 0xde469fbd99a05fe3ULL, 481 },  /* 1e164 */
	{ 0xa59bc234db398c25ULL, 508 },  /* 1e172 */
	{ 0xf6c69a72a3989f5cULL, 534 },  /* 1e180 */
	{ 0xb7dcbf5354e9beceULL, 561 },  /* 1e188 */
	{ 0x88fcf317f22241e2ULL, 588 },  /* 1e196 */
	{ 0xcc20ce9bd35c78a5ULL, 614 },  /* 1e204 */
	{ 0x98165af37b2153dfULL, 641 },  /* 1e212 */
	{ 0xe2a0b5dc971f303aULL, 667 },  /* 1e220 */
	{ 0xa8d9d1535ce3b396ULL, 694 },  /* 1e228 */
	{ 0xfb9b7cd9a4a7443cULL, 720 },  /* 1e236 */
	{ 0xbb764c4ca7a44410ULL, 747 },  /* 1e244 */
	{ 0x8bab8eefb6409c1aULL, 774 },  /* 1e252 */
	{ 0xd01fef10a657842cULL, 800 },  /* 1e260 */
	{ 0x9b10a4e5e9913129ULL, 827 },  /* 1e268 */
	{ 0xe7109bfba19c0c9dULL, 853 },  /* 1e276 */
	{ 0xac2820d9623bf429ULL, 880 },  /* 1e284 */
	{ 0x80444b5e7aa7cf85ULL, 907 },  /* 1e292 */
	{ 0xbf21e44003acdd2dULL, 933 },  /* 1e300 */
	{ 0x8e679c2f5e44ff8fULL, 960 },  /* 1e308 */
	{ 0xd433179d9c8cb841ULL, 986 },  /* 1e316 */
	{ 0x9e19db92b4e31ba9ULL, 1013 },  /* 1e324 */
	{ 0xeb96bf6ebadf77d9ULL, 1039 },  /* 1e332 */
	{ 0xaf87023b9bf0ee6bULL, 1066 },  /* 1e340 */
};

static const uint32_t pow10_32[] = { 1, 10, 100, 1000, 10000, 100000, 1000000, 10000000,
	100000000, 1000000000 };

/* Product rounded to 64 bits. */
static struct diyfp
diy_mul(struct diyfp x, struct diyfp y)
{
	unsigned __int128 p = (unsigned __int128)x.f * y.f;
	uint64_t h = (uint64_t)(p >> 64), l = (uint64_t)p;
	if (l & (1ULL << 63))
		h++;
	struct diyfp r = { h, x.e + y.e + 64 };
	return r;
}

/* Shift the mantissa so its top bit is set. */
static struct diyfp
diy_normalize(struct diyfp x)
{
	int s = __builtin_clzll(x.f);
	x.f <<= s;
	x.e -= s;
	return x;
}

/* The exact value of a finite positive double. */
static struct diyfp
diy_from_double(double d)
{
	uint64_t u;
	memcpy(&u, &d, sizeof u);
	int be = (int)((u >> 52) & 0x7ff);
	uint64_t frac = u & ((1ULL << 52) - 1);
	struct diyfp r;
	if (be) {
		r.f = frac | (1ULL << 52);
		r.e = be - 1075;
	} else {
		r.f = frac;
		r.e = -1074;
	}
	return r;
}

/* The neighbours' midpoints, both with the exponent of the upper one. */
static void
boundaries(struct diyfp v, struct diyfp *minus, struct diyfp *plus)
{
	struct diyfp pl = { (v.f << 1) + 1, v.e - 1 };
	pl = diy_normalize(pl);
	struct diyfp mi;
	if (v.f == (1ULL << 52)) {
		mi.f = (v.f << 2) - 1;
		mi.e = v.e - 2;
	} else {
		mi.f = (v.f << 1) - 1;
		mi.e = v.e - 1;
	}
	mi.f <<= mi.e - pl.e;
	mi.e = pl.e;
	*plus = pl;
	*minus = mi;
}

/* The cached 10^-K that scales exponent e into Grisu's window. */
static struct diyfp
cached_power(int e, int *K)
{
	double dk = (-61 - e) * 0.30102999566398114 + 347;
	int k = (int)dk;
	if (dk - k > 0.0)
		k++;
	unsigned index = (unsigned)((k >> 3) + 1);
	*K = -(-348 + (int)(index << 3));
	struct diyfp r = { cached_powers[index].f, cached_powers[index].e };
	return r;
}

/* Move the last digit towards the exact value while it stays in range. */
static void
grisu_round(char *buf, int len, uint64_t delta, uint64_t rest, uint64_t ten_kappa, uint64_t wp_w)
{
	while (rest < wp_w && delta - rest >= ten_kappa &&
	    (rest + ten_kappa < wp_w || wp_w - rest > rest + ten_kappa - wp_w)) {
		buf[len - 1]--;
		rest += ten_kappa;
	}
}

/* Number of decimal digits of n (n < 10^10). */
static int
count_digits(uint32_t n)
{
	int d = 1;
	while (d < 10 && n >= pow10_32[d])
		d++;
	return d;
}

/* The digits of W, as few as the interval (Mp - delta, Mp) allows. */
static void
digit_gen(struct diyfp W, struct diyfp Mp, uint64_t delta, char *buf, int *len, int *K)
{
	static const uint64_t pow10_64[] = { 1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL,
		1000000ULL, 10000000ULL, 100000000ULL, 1000000000ULL, 10000000000ULL,
		100000000000ULL, 1000000000000ULL, 10000000000000ULL, 100000000000000ULL,
		1000000000000000ULL, 10000000000000000ULL, 100000000000000000ULL,
		1000000000000000000ULL, 10000000000000000000ULL };
	const struct diyfp one = { 1ULL << -Mp.e, Mp.e };
	const uint64_t wp_w = Mp.f - W.f;
	uint32_t p1 = (uint32_t)(Mp.f >> -one.e);
	uint64_t p2 = Mp.f & (one.f - 1);
	int kappa = count_digits(p1);
	*len = 0;
	while (kappa > 0) {
		uint32_t div = pow10_32[kappa - 1];
		uint32_t d = p1 / div;
		p1 %= div;
		if (d || *len)
			buf[(*len)++] = (char)('0' + d);
		kappa--;
		uint64_t tmp = ((uint64_t)p1 << -one.e) + p2;
		if (tmp <= delta) {
			*K += kappa;
			grisu_round(buf, *len, delta, tmp, (uint64_t)pow10_32[kappa] << -one.e, wp_w);
			return;
		}
	}
	for (;;) {
		p2 *= 10;
		delta *= 10;
		char d = (char)(p2 >> -one.e);
		if (d || *len)
			buf[(*len)++] = (char)('0' + d);
		p2 &= one.f - 1;
		kappa--;
		if (p2 < delta) {
			*K += kappa;
			int index = -kappa;
			grisu_round(buf, *len, delta, p2, one.f, index < 20 ? wp_w * pow10_64[index] : 0);
			return;
		}
	}
}

/* Grisu2: digits and decimal exponent of a finite positive double. */
static void
grisu2(double value, char *buf, int *len, int *K)
{
	struct diyfp v = diy_from_double(value);
	struct diyfp w_m, w_p;
	boundaries(v, &w_m, &w_p);
	struct diyfp c_mk = cached_power(w_p.e, K);
	struct diyfp W = diy_mul(diy_normalize(v), c_mk);
	struct diyfp Wp = diy_mul(w_p, c_mk);
	struct diyfp Wm = diy_mul(w_m, c_mk);
	Wm.f++;
	Wp.f--;
	digit_gen(W, Wp, Wp.f - Wm.f, buf, len, K);
}

/* Exponent as PostgreSQL writes it: sign, at least two digits. */
static int
write_exp(char *p, int x)
{
	int n = 0;
	p[n++] = 'e';
	p[n++] = x < 0 ? '-' : '+';
	if (x < 0)
		x = -x;
	if (x >= 100)
		p[n++] = (char)('0' + x / 100);
	p[n++] = (char)('0' + x / 10 % 10);
	p[n++] = (char)('0' + x % 10);
	return n;
}

/* digits (len of them, the first at 10^x) as PostgreSQL writes them: plain
 * unless x < -4 or x >= sci (15 for float8, 6 for float4). */
static char *
write_digits(char *p, const char *digits, int len, int x, int sci)
{
	if (x < -4 || x >= sci) {
		/* d.ddde+XX */
		*p++ = digits[0];
		if (len > 1) {
			*p++ = '.';
			memcpy(p, digits + 1, (size_t)(len - 1));
			p += len - 1;
		}
		p += write_exp(p, x);
	} else if (x < 0) {
		/* 0.000ddd */
		*p++ = '0';
		*p++ = '.';
		for (int i = -1; i > x; i--)
			*p++ = '0';
		memcpy(p, digits, (size_t)len);
		p += len;
	} else if (len <= x + 1) {
		/* ddd000 */
		memcpy(p, digits, (size_t)len);
		p += len;
		for (int i = len; i <= x; i++)
			*p++ = '0';
	} else {
		/* ddd.ddd */
		memcpy(p, digits, (size_t)(x + 1));
		p += x + 1;
		*p++ = '.';
		memcpy(p, digits + x + 1, (size_t)(len - x - 1));
		p += len - x - 1;
	}
	*p = '\0';
	return p;
}

/* NaN, a sign, Infinity and zero, shared by both widths; the rest is 0. */
static int
write_special(double d, char **pp, char *out)
{
	char *p = *pp;
	if (isnan(d)) {
		memcpy(out, "NaN", 4);
		return 3;
	}
	if (signbit(d)) {
		*p++ = '-';
		d = -d;
	}
	*pp = p;
	if (isinf(d)) {
		memcpy(p, "Infinity", 9);
		return (int)(p - out) + 8;
	}
	if (d == 0) {
		*p++ = '0';
		*p = '\0';
		return (int)(p - out);
	}
	return 0;
}

int
dtoa_shortest(double d, char *out)
{
	char *p = out;
	int n = write_special(d, &p, out);
	if (n > 0)
		return n;
	char digits[24];
	int len, K;
	grisu2(fabs(d), digits, &len, &K);
	return (int)(write_digits(p, digits, len, len + K - 1, 15) - out);
}

int
dtoa_shortest_float(float f, char *out)
{
	char *p = out;
	int n = write_special(f, &p, out);
	if (n > 0)
		return n;
	/* at most 9 significant digits tell every float apart: take the
	 * fewest that read back as the same float */
	char buf[32], digits[16];
	float a = fabsf(f);
	for (int prec = 0; prec < 9; prec++) {
		snprintf(buf, sizeof buf, "%.*e", prec, (double)a);
		if (strtof(buf, NULL) == a || prec == 8)
			break;
	}
	/* buf is d[.ddd]e[+-]XX */
	int len = 0;
	char *q = buf;
	for (; *q && *q != 'e'; q++)
		if (*q != '.')
			digits[len++] = *q;
	while (len > 1 && digits[len - 1] == '0')
		len--;
	int x = atoi(q + 1);
	return (int)(write_digits(p, digits, len, x, 6) - out);
}

/*
 * Clinger's fast path (W. D. Clinger, "How to Read Floating Point Numbers
 * Accurately", 1990): when the decimal digits form an integer m <= 2^53
 * and the power of ten p has |p| <= 22, both m and 10^|p| are doubles
 * exactly, so one IEEE multiplication or division gives the correctly
 * rounded value: strtod's answer, bit for bit. A 1M-row result with a
 * float8 column spent ~10% of the worker's CPU in glibc's multi-precision
 * strtod (issue 16); PostgreSQL's shortest-form output nearly always has
 * 17 or fewer significant digits and falls here or into strtod.
 *
 * Where x87's 64-bit significand is there (x86 long double), up to 19
 * digits and |p| <= 27 take one more exact step: m and 10^|p| are exact
 * long doubles, so m * 10^p (or m / 10^-p) is correctly rounded to 64 bits;
 * rounding that to 53 bits gives the correctly rounded double unless the
 * 11 bits dropped are exactly a half (0x400), the one pattern where the
 * first rounding may have made a tie the true value was not; then strtod
 * decides. Every 53-bit halfway point lies on the 64-bit grid, so no other
 * pattern can hide one. This takes PostgreSQL's 17-digit shortest forms
 * (1/7-like values), which Clinger's 2^53 bound turns away.
 */
#if defined(__x86_64__) && LDBL_MANT_DIG == 64
#define DTOA_EXTENDED 1
/* Does long double arithmetic keep 64 bits here? Not under an emulator
 * that computes it in doubles (valgrind): then the step is skipped. */
static bool
extended_works(void)
{
	static int ok = -1;
	if (ok < 0) {
		volatile long double one = 1.0L, tiny = 0x1p-63L;
		ok = one + tiny != one;
	}
	return ok;
}

/* m * 10^p through a 64-bit significand; false where it may not be the
 * correctly rounded double (see dtoa_parse_fast). */
static bool
parse_extended(uint64_t m, int p, double *out)
{
	static const long double pow10l[28] = {
		1e0L, 1e1L, 1e2L, 1e3L, 1e4L, 1e5L, 1e6L, 1e7L, 1e8L, 1e9L, 1e10L, 1e11L, 1e12L, 1e13L,
		1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L, 1e20L, 1e21L, 1e22L, 1e23L, 1e24L, 1e25L,
		1e26L, 1e27L,
	};
	if (p < -27 || p > 27 || !extended_works())
		return false;
	long double x = (long double)m;
	x = p >= 0 ? x * pow10l[p] : x / pow10l[-p];
	uint64_t sig;
	memcpy(&sig, &x, sizeof sig); /* x86: the low 8 bytes are the significand */
	if ((sig & 0x7ff) == 0x400)
		return false;
	*out = (double)x;
	return true;
}
#endif

bool
dtoa_parse_fast(const char *s, size_t len, double *out)
{
	static const double pow10[23] = {
		1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
		1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
	};
	size_t i = 0;
	bool neg = false;
	if (i < len && (s[i] == '-' || s[i] == '+'))
		neg = s[i++] == '-';
	uint64_t m = 0;
	int digits = 0, scale = 0;
	bool any = false, dot = false;
	for (; i < len; i++) {
		char c = s[i];
		if (c == '.' && !dot) {
			dot = true;
			continue;
		}
		if (c < '0' || c > '9')
			break;
		any = true;
		if (m == 0 && c == '0') {
			/* leading zeros: not significant */
			if (dot)
				scale--;
			continue;
		}
		if (++digits > 19)
			return false;
		m = m * 10 + (uint64_t)(c - '0');
		if (dot)
			scale--;
	}
	if (!any)
		return false;
	if (i < len) {
		if (s[i] != 'e' && s[i] != 'E')
			return false;
		i++;
		bool eneg = false;
		if (i < len && (s[i] == '-' || s[i] == '+'))
			eneg = s[i++] == '-';
		if (i == len)
			return false;
		int e = 0;
		for (; i < len; i++) {
			if (s[i] < '0' || s[i] > '9' || e > 10000)
				return false;
			e = e * 10 + (s[i] - '0');
		}
		scale += eneg ? -e : e;
	}
	double d = (double)m;
	if (m == 0)
		d = 0;
	else if (m <= (UINT64_C(1) << 53) && scale >= 0 && scale <= 22)
		d *= pow10[scale];
	else if (m <= (UINT64_C(1) << 53) && scale < 0 && scale >= -22)
		d /= pow10[-scale];
#ifdef DTOA_EXTENDED
	else if (!parse_extended(m, scale, &d))
		return false;
#else
	else
		return false;
#endif
	*out = neg ? -d : d;
	return true;
}
