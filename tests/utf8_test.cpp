#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "utf8.hpp"

namespace {

using pbxwebhook::utf8_cut;
using pbxwebhook::Utf8Checker;

struct ScanResult {
    std::size_t offset;
    bool complete;

    bool operator==(const ScanResult &other) const
    {
        return offset == other.offset && complete == other.complete;
    }
};

std::ostream &operator<<(std::ostream &os, const ScanResult &r)
{
    return os << "{offset " << r.offset << ", complete " << r.complete << "}";
}

const unsigned char *bytes_of(const std::string &s)
{
    return reinterpret_cast<const unsigned char *>(s.data());
}

ScanResult scan_whole(const std::vector<unsigned char> &data)
{
    Utf8Checker checker;
    std::size_t offset = checker.scan(data.data(), data.size());
    return {offset, offset == data.size() && checker.complete()};
}

ScanResult scan_whole(const std::string &data)
{
    return scan_whole(std::vector<unsigned char>(data.begin(), data.end()));
}

ScanResult scan_bytewise(const std::vector<unsigned char> &data)
{
    Utf8Checker checker;
    for (std::size_t i = 0; i < data.size(); i++) {
        unsigned char one = data[i];
        if (checker.scan(&one, 1) != 1) {
            return {i, false};
        }
    }
    return {data.size(), checker.complete()};
}

ScanResult scan_split(const std::vector<unsigned char> &data, std::size_t cut)
{
    Utf8Checker checker;
    std::vector<unsigned char> first(data.begin(), data.begin() + cut);
    std::vector<unsigned char> second(data.begin() + cut, data.end());
    std::size_t n = checker.scan(first.data(), first.size());
    if (n != first.size()) {
        return {n, false};
    }
    n = checker.scan(second.data(), second.size());
    if (n != second.size()) {
        return {cut + n, false};
    }
    return {data.size(), checker.complete()};
}

// An independent model: a byte is refused when the sequence it belongs to
// can no longer become a Unicode scalar value (U+0000..U+10FFFF without the
// surrogates) in its shortest form. Vertical tab and form feed are refused.
bool can_complete(const unsigned char *seq, std::size_t have, std::size_t len)
{
    static const std::uint32_t lead_mask[] = {0, 0, 0x1f, 0x0f, 0x07};
    static const std::uint32_t shortest[] = {0, 0, 0x80, 0x800, 0x10000};

    std::uint32_t lo = seq[0] & lead_mask[len];
    std::uint32_t hi = lo;
    for (std::size_t k = 1; k < len; k++) {
        std::uint32_t payload_lo = k < have ? (seq[k] & 0x3fu) : 0x00;
        std::uint32_t payload_hi = k < have ? (seq[k] & 0x3fu) : 0x3f;
        lo = (lo << 6) | payload_lo;
        hi = (hi << 6) | payload_hi;
    }
    lo = std::max<std::uint32_t>(lo, shortest[len]);
    hi = std::min<std::uint32_t>(hi, 0x10ffff);
    if (lo > hi) {
        return false;
    }
    return lo < 0xd800 || hi > 0xdfff;
}

ScanResult model_scan(const std::vector<unsigned char> &data)
{
    std::size_t i = 0;
    while (i < data.size()) {
        unsigned char c = data[i];
        if (c < 0x80) {
            if (c == 0x0b || c == 0x0c) {
                return {i, false};
            }
            i++;
            continue;
        }
        std::size_t len = c >= 0xc0 && c < 0xe0   ? 2
                          : c >= 0xe0 && c < 0xf0 ? 3
                          : c >= 0xf0 && c < 0xf8 ? 4
                                                  : 0;
        if (len == 0 || !can_complete(&data[i], 1, len)) {
            return {i, false};
        }
        for (std::size_t k = 1; k < len; k++) {
            if (i + k == data.size()) {
                return {data.size(), false};
            }
            if ((data[i + k] & 0xc0) != 0x80 || !can_complete(&data[i], k + 1, len)) {
                return {i + k, false};
            }
        }
        i += len;
    }
    return {data.size(), true};
}

void expect_all_ways(const std::vector<unsigned char> &data)
{
    ScanResult expected = model_scan(data);
    ASSERT_EQ(scan_whole(data), expected);
    ASSERT_EQ(scan_bytewise(data), expected);
}

TEST(Utf8Checker, AcceptsAsciiAndEveryLengthOfSequence)
{
    for (const char *text : {"", "plain ascii", "caf\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                             "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf", "\xee\x80\x80",
                             "\xef\xbf\xbf", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf"})
    {
        std::string s = text;
        EXPECT_EQ(scan_whole(s), (ScanResult{s.size(), true})) << text;
    }
}

TEST(Utf8Checker, AcceptsControlBytesOtherThanVerticalTabAndFormFeed)
{
    for (int c = 0; c < 0x80; c++) {
        std::vector<unsigned char> one{static_cast<unsigned char>(c)};
        bool refused = c == 0x0b || c == 0x0c;
        EXPECT_EQ(scan_whole(one), (ScanResult{refused ? 0u : 1u, !refused})) << c;
    }
}

TEST(Utf8Checker, RefusesOverlongTwoByteForms)
{
    EXPECT_EQ(scan_whole(std::string("\xc0\x80")), (ScanResult{0, false}));
    EXPECT_EQ(scan_whole(std::string("\xc1\xbf")), (ScanResult{0, false}));
    EXPECT_EQ(scan_whole(std::string("ab\xc0\xaf")), (ScanResult{2, false}));
}

TEST(Utf8Checker, RefusesOverlongThreeAndFourByteForms)
{
    EXPECT_EQ(scan_whole(std::string("\xe0\x80\x80")), (ScanResult{1, false}));
    EXPECT_EQ(scan_whole(std::string("\xe0\x9f\xbf")), (ScanResult{1, false}));
    EXPECT_EQ(scan_whole(std::string("\xf0\x80\x80\x80")), (ScanResult{1, false}));
    EXPECT_EQ(scan_whole(std::string("\xf0\x8f\xbf\xbf")), (ScanResult{1, false}));
}

TEST(Utf8Checker, RefusesSurrogates)
{
    EXPECT_EQ(scan_whole(std::string("\xed\xa0\x80")), (ScanResult{1, false}));
    EXPECT_EQ(scan_whole(std::string("\xed\xbf\xbf")), (ScanResult{1, false}));
    EXPECT_EQ(scan_whole(std::string("\xed\xa0\x80\xed\xb0\x80")), (ScanResult{1, false}));
}

TEST(Utf8Checker, RefusesAboveU10FFFF)
{
    EXPECT_EQ(scan_whole(std::string("\xf4\x90\x80\x80")), (ScanResult{1, false}));
    for (int c = 0xf5; c <= 0xff; c++) {
        std::string s = "x";
        s += static_cast<char>(c);
        s += "\x80\x80\x80";
        EXPECT_EQ(scan_whole(s), (ScanResult{1, false})) << c;
    }
}

TEST(Utf8Checker, RefusesLoneContinuationBytes)
{
    for (int c = 0x80; c <= 0xbf; c++) {
        std::string s = "ok";
        s += static_cast<char>(c);
        EXPECT_EQ(scan_whole(s), (ScanResult{2, false})) << c;
    }
}

TEST(Utf8Checker, RefusesSequenceCutByAsciiAtTheAsciiByte)
{
    EXPECT_EQ(scan_whole(std::string("\xc3"
                                     "a")),
              (ScanResult{1, false}));
    EXPECT_EQ(scan_whole(std::string("\xe2\x82"
                                     "\"")),
              (ScanResult{2, false}));
    EXPECT_EQ(scan_whole(std::string("\xf0\x9f\x98"
                                     "}")),
              (ScanResult{3, false}));
    EXPECT_EQ(scan_whole(std::string("\xe2\xe2\x82\xac")), (ScanResult{1, false}));
}

TEST(Utf8Checker, TruncatedSequenceAtEndIsIncomplete)
{
    for (const char *text : {"\xc3", "\xe2", "\xe2\x82", "\xf0", "\xf0\x9f", "\xf0\x9f\x98"}) {
        Utf8Checker checker;
        std::string s = std::string("abc") + text;
        EXPECT_EQ(checker.scan(bytes_of(s), s.size()), s.size());
        EXPECT_FALSE(checker.complete()) << s.size();
    }
}

TEST(Utf8Checker, SequenceSplitAcrossFeedsIsAccepted)
{
    const std::string text = "a\xc3\xa9"
                             "b\xe2\x82\xac"
                             "c\xf0\x9f\x98\x80"
                             "d\xf4\x8f\xbf\xbf";
    std::vector<unsigned char> data(text.begin(), text.end());
    for (std::size_t cut = 0; cut <= data.size(); cut++) {
        EXPECT_EQ(scan_split(data, cut), (ScanResult{data.size(), true})) << cut;
    }
    EXPECT_EQ(scan_bytewise(data), (ScanResult{data.size(), true}));
}

TEST(Utf8Checker, IncompleteBetweenFeedsCompleteAfter)
{
    Utf8Checker checker;
    const unsigned char lead[] = {0xf0, 0x9f};
    const unsigned char rest[] = {0x98, 0x80};
    EXPECT_EQ(checker.scan(lead, 2), 2u);
    EXPECT_FALSE(checker.complete());
    EXPECT_EQ(checker.scan(rest, 1), 1u);
    EXPECT_FALSE(checker.complete());
    EXPECT_EQ(checker.scan(rest + 1, 1), 1u);
    EXPECT_TRUE(checker.complete());
}

TEST(Utf8Checker, BadContinuationInNextFeedIsFound)
{
    Utf8Checker checker;
    const unsigned char lead[] = {'x', 0xe0};
    const unsigned char bad[] = {0x9f, 0x80};
    EXPECT_EQ(checker.scan(lead, 2), 2u);
    EXPECT_EQ(checker.scan(bad, 2), 0u);

    Utf8Checker surrogate;
    const unsigned char ed[] = {0xed};
    const unsigned char a0[] = {0xa0, 0x80};
    EXPECT_EQ(surrogate.scan(ed, 1), 1u);
    EXPECT_EQ(surrogate.scan(a0, 2), 0u);
}

TEST(Utf8Checker, MatchesModelOnEveryTwoBytePair)
{
    for (int a = 0; a < 256; a++) {
        for (int b = 0; b < 256; b++) {
            SCOPED_TRACE(testing::Message() << std::hex << a << " " << b);
            expect_all_ways({static_cast<unsigned char>(a), static_cast<unsigned char>(b)});
            if (testing::Test::HasFatalFailure()) {
                return;
            }
        }
    }
}

TEST(Utf8Checker, MatchesModelOnThreeAndFourByteSequences)
{
    const unsigned char edges[] = {0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90,
                                   0x9f, 0xa0, 0xbf, 0xc0, 0xff};
    for (int a = 0xc0; a < 256; a++) {
        for (int b = 0; b < 256; b++) {
            for (unsigned char c : edges) {
                SCOPED_TRACE(testing::Message() << std::hex << a << " " << b << " " << int(c));
                unsigned char lead = static_cast<unsigned char>(a);
                unsigned char second = static_cast<unsigned char>(b);
                expect_all_ways({lead, second, c});
                expect_all_ways({lead, second, c, 0x80});
                expect_all_ways({lead, second, c, 0xbf, 'z'});
                if (testing::Test::HasFatalFailure()) {
                    return;
                }
            }
        }
    }
}

// scan() takes 32 bytes, then 16, then 8 at a time when it can; a bad byte
// must be found at every offset of each, and of the bytes after them (61 =
// 32 + 16 + 8 + 5), with the buffer at any alignment.
TEST(Utf8Checker, FindsBadByteAtEveryOffsetOfWordPath)
{
    const unsigned char bad[] = {0x0b, 0x0c, 0x80, 0xbf, 0xc0, 0xc1, 0xf5, 0xf8, 0xfe, 0xff};
    for (unsigned char b : bad) {
        for (std::size_t start = 0; start < 16; start++) {
            for (std::size_t at = 0; at < 61; at++) {
                std::vector<unsigned char> buffer(80, 'a');
                buffer[start + at] = b;
                Utf8Checker checker;
                EXPECT_EQ(checker.scan(buffer.data() + start, 61), at)
                    << "byte " << int(b) << " at " << at << " start " << start;
            }
        }
    }
}

TEST(Utf8Checker, AcceptsEveryOtherAsciiByteAtEveryOffset)
{
    for (int b = 0; b < 0x80; b++) {
        if (b == 0x0b || b == 0x0c) {
            continue;
        }
        for (std::size_t at = 0; at < 32; at++) {
            std::vector<unsigned char> buffer(32, 'a');
            buffer[at] = static_cast<unsigned char>(b);
            Utf8Checker checker;
            EXPECT_EQ(checker.scan(buffer.data(), 32), 32u) << "byte " << b << " at " << at;
            EXPECT_TRUE(checker.complete());
        }
    }
}

TEST(Utf8Checker, FindsFirstOfTwoBadBytes)
{
    for (std::size_t first = 0; first < 61; first++) {
        for (std::size_t second = first + 1; second < 61; second++) {
            std::vector<unsigned char> buffer(61, 'a');
            buffer[first] = 0x0c;
            buffer[second] = 0xff;
            Utf8Checker checker;
            EXPECT_EQ(checker.scan(buffer.data(), buffer.size()), first) << first << " " << second;
        }
    }
}

TEST(Utf8Checker, FindsBadByteAfterValidSequenceInWord)
{
    for (std::size_t at = 0; at + 4 < 32; at++) {
        std::vector<unsigned char> buffer(32, ' ');
        buffer[at] = 0xe2;
        buffer[at + 1] = 0x82;
        buffer[at + 2] = 0xac;
        buffer[31] = 0x0c;
        Utf8Checker checker;
        EXPECT_EQ(checker.scan(buffer.data(), 32), 31u) << at;
    }
}

TEST(Utf8Checker, AcceptsSequenceAtEveryOffsetAndAcrossWords)
{
    const std::string seqs[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
    for (const std::string &seq : seqs) {
        for (std::size_t at = 0; at + seq.size() <= 32; at++) {
            std::vector<unsigned char> buffer(32, 'a');
            std::copy(seq.begin(), seq.end(), buffer.begin() + at);
            EXPECT_EQ(scan_whole(buffer), (ScanResult{32, true})) << seq.size() << " at " << at;
        }
        for (std::size_t at = 32 - seq.size() + 1; at < 32; at++) {
            std::vector<unsigned char> buffer(32, 'a');
            std::copy(seq.begin(), seq.begin() + (32 - at), buffer.begin() + at);
            EXPECT_EQ(scan_whole(buffer), (ScanResult{32, false})) << "truncated at " << at;
        }
    }
}

TEST(Utf8Cut, KeepsTextWithinLimit)
{
    EXPECT_EQ(utf8_cut("", 0), 0u);
    EXPECT_EQ(utf8_cut("abc", 3), 3u);
    EXPECT_EQ(utf8_cut("abc", 100), 3u);
    EXPECT_EQ(utf8_cut("abcdef", 4), 4u);
    EXPECT_EQ(utf8_cut("abc", 0), 0u);
}

TEST(Utf8Cut, NeverEndsInsideSequence)
{
    const std::string text = "ab\xc3\xa9"
                             "c\xe2\x82\xac"
                             "d\xf0\x9f\x98\x80"
                             "e";
    // Boundaries: 0 1 2 4 5 8 9 13 14.
    const std::size_t expected[] = {0, 1, 2, 2, 4, 5, 5, 5, 8, 9, 9, 9, 9, 13, 14};
    for (std::size_t max = 0; max < std::size(expected); max++) {
        EXPECT_EQ(utf8_cut(text, max), expected[max]) << max;
    }
}

TEST(Utf8Cut, CutsAtLimitWhenNextByteStartsSequence)
{
    EXPECT_EQ(utf8_cut("ab\xc3\xa9", 2), 2u);
    EXPECT_EQ(utf8_cut("\xe2\x82\xac\xe2\x82\xac", 3), 3u);
}

}  // namespace
