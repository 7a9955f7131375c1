#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <sstream>
#include <string>

#include "version.hpp"

namespace {

// version.hpp is the one place the version is written; what else names it
// is checked against it.
std::string read_source(const char *path)
{
    std::ifstream file(std::string(PBX_SOURCE_DIR "/") + path);
    std::stringstream text;
    text << file.rdbuf();
    return text.str();
}

std::string line_with(const std::string &text, const std::string &start)
{
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind(start, 0) == 0) {
            return line;
        }
    }
    return {};
}

const std::string version = PBX_WEBHOOK_VERSION;

TEST(Version, ReadmeNamesIt)
{
    std::string readme = read_source("README.md");
    std::string row = line_with(readme, "| `$pbx_webhook_version` |");
    EXPECT_NE(row.find("`" + version + "`"), std::string::npos) << row;
    EXPECT_NE(readme.find("`pbx_webhook module " + version + "`"), std::string::npos);
}

// Its newest release is this version; an "## Unreleased" may come first.
TEST(Version, ChangelogsNewestReleaseIsIt)
{
    std::istringstream lines(read_source("CHANGELOG.md"));
    std::string release;
    for (std::string line; std::getline(lines, line) && release.empty();) {
        if (line.rfind("## ", 0) == 0 && line.size() > 3 && std::isdigit(static_cast<unsigned char>(line[3]))) {
            release = line;
        }
    }
    EXPECT_EQ(release, "## " + version);
}

TEST(Version, DebianChangelogTakesItFromTheSource)
{
    std::string first = line_with(read_source("packaging/debian/changelog.in"), "libnginx-mod");
    EXPECT_EQ(first, "libnginx-mod-http-pbx-webhook (@VERSION@) bookworm; urgency=medium");
}

}  // namespace
