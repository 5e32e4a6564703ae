// The terminal-independent half of the MQL runtime shim: strings, conversions, math, inputs and the
// journal. Behaviour follows the MQL5/MQL4 reference pages named in mql.h.
#include "mql.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <random>

string::string(const char *utf8) {
  // UTF-8 to UTF-16 (MQL strings are UTF-16; the EA sources are UTF-8).
  const unsigned char *p = reinterpret_cast<const unsigned char *>(utf8);
  while (*p) {
    uint32_t code = *p++;
    int extra = 0;
    if (code >= 0xF0) { code &= 0x07; extra = 3; }
    else if (code >= 0xE0) { code &= 0x0F; extra = 2; }
    else if (code >= 0xC0) { code &= 0x1F; extra = 1; }
    for (int i = 0; i < extra && (*p & 0xC0) == 0x80; i++) code = (code << 6) | (*p++ & 0x3F);
    if (code >= 0x10000) {
      code -= 0x10000;
      units.push_back(char16_t(0xD800 + (code >> 10)));
      units.push_back(char16_t(0xDC00 + (code & 0x3FF)));
    } else {
      units.push_back(char16_t(code));
    }
  }
}

std::string string::utf8() const {
  std::string out;
  for (size_t i = 0; i < units.size(); i++) {
    uint32_t code = units[i];
    if (code >= 0xD800 && code < 0xDC00 && i + 1 < units.size()) {
      code = 0x10000 + ((code - 0xD800) << 10) + (units[i + 1] - 0xDC00);
      i++;
    }
    if (code < 0x80) out += char(code);
    else if (code < 0x800) { out += char(0xC0 | (code >> 6)); out += char(0x80 | (code & 0x3F)); }
    else if (code < 0x10000) {
      out += char(0xE0 | (code >> 12)); out += char(0x80 | ((code >> 6) & 0x3F)); out += char(0x80 | (code & 0x3F));
    } else {
      out += char(0xF0 | (code >> 18)); out += char(0x80 | ((code >> 12) & 0x3F));
      out += char(0x80 | ((code >> 6) & 0x3F)); out += char(0x80 | (code & 0x3F));
    }
  }
  return out;
}

string operator""_mql(const char *text, size_t) { return string(text); }

void MqlCriticalError(const char *what, long index, long size) {
  std::fprintf(stderr, "MQL critical error: %s (index %ld, size %ld)\n", what, index, size);
  std::abort();
}

int StringLen(const string &text) { return (int)text.units.size(); }

string StringSubstr(const string &text, int start, int length) {
  if (start < 0 || start >= (int)text.units.size()) return string();
  if (length < 0) return string(text.units.substr((size_t)start));
  return string(text.units.substr((size_t)start, (size_t)length));
}

int StringFind(const string &text, const string &match, int start) {
  if (start < 0) start = 0;
  size_t at = text.units.find(match.units, (size_t)start);
  return at == std::u16string::npos ? -1 : (int)at;
}

int StringReplace(string &text, const string &find, const string &replacement) {
  if (find.units.empty()) return -1;
  int count = 0;
  size_t at = 0;
  while ((at = text.units.find(find.units, at)) != std::u16string::npos) {
    text.units.replace(at, find.units.size(), replacement.units);
    at += replacement.units.size();
    count++;
  }
  return count;
}

ushort StringGetCharacter(const string &text, int pos) {
  if (pos < 0 || pos >= (int)text.units.size()) return 0;
  return text.units[(size_t)pos];
}

int StringToCharArray(const string &text, MqlArray<uchar> &array, int start, int count, uint codepage) {
  std::string bytes;
  if (codepage == CP_UTF8) bytes = text.utf8();
  else for (char16_t unit : text.units) bytes += unit < 0x100 ? char(unit) : '?';
  bytes.push_back('\0');  // count -1: the terminating zero is copied too
  size_t n = count < 0 ? bytes.size() : std::min(bytes.size(), (size_t)count);
  if ((int)array.items.size() < start + (int)n) {
    if (array.fixed) n = array.items.size() > (size_t)start ? array.items.size() - (size_t)start : 0;
    else array.items.resize((size_t)start + n);
  }
  for (size_t i = 0; i < n; i++) array.items[(size_t)start + i].value = (uchar)bytes[i];
  return (int)n;
}

string CharArrayToString(const MqlArray<uchar> &array, int start, int count, uint codepage) {
  std::string bytes;
  int end = count < 0 ? (int)array.items.size() : std::min((int)array.items.size(), start + count);
  for (int i = start; i < end; i++) {
    uchar b = array.items[(size_t)i].value;
    if (b == 0) break;
    bytes += char(b);
  }
  if (codepage == CP_UTF8) return string(bytes.c_str());
  string out;
  for (char c : bytes) out.units.push_back(char16_t((unsigned char)c));
  return out;
}

string IntegerToString(long number, int, ushort) { return string(std::to_string(number).c_str()); }

long StringToInteger(const string &text) { return std::strtol(text.utf8().c_str(), nullptr, 10); }

string DoubleToString(double value, int digits) {
  if (digits < 0 || digits > 16) digits = 8;
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", digits, value);
  return string(buffer);
}

double NormalizeDouble(double value, int digits) {
  double scale = std::pow(10.0, digits);
  return std::round(value * scale) / scale;
}

bool MathIsValidNumber(double number) { return std::isfinite(number); }

static std::mt19937 mqlRandom(1);
int MathRand() { return (int)(mqlRandom() % 32768); }
void MathSrand(int seed) { mqlRandom.seed((uint32_t)seed); }

std::string MqlText(const string &value) { return value.utf8(); }
std::string MqlText(const char *value) { return value; }
std::string MqlText(long value) { return std::to_string(value); }
std::string MqlText(int value) { return std::to_string(value); }
std::string MqlText(uint value) { return std::to_string(value); }
std::string MqlText(ulong value) { return std::to_string(value); }
std::string MqlText(double value) { return DoubleToString(value, 8).utf8(); }
std::string MqlText(bool value) { return value ? "true" : "false"; }
std::string MqlText(datetime value) { return std::to_string(value.seconds); }

const char *MqlInputText(const char *name) {
  std::string key = std::string("TIDEMARK_INPUT_") + name;
  return std::getenv(key.c_str());
}
template <> int MqlInputParse<int>(const char *text, const int &) { return std::atoi(text); }
template <> bool MqlInputParse<bool>(const char *text, const bool &) {
  return std::strcmp(text, "true") == 0 || std::strcmp(text, "1") == 0;
}
template <> string MqlInputParse<string>(const char *text, const string &) { return string(text); }

// Files: the fake terminal's Files folder is TIDEMARK_FILES_DIR; names cannot leave it.
static std::map<int, std::unique_ptr<std::ifstream>> openFiles;
static int nextFileHandle = 1;
int FileOpen(const string &file_name, int open_flags, short, uint) {
  const char *folder = std::getenv("TIDEMARK_FILES_DIR");
  std::string name = file_name.utf8();
  if (!folder || name.find("..") != std::string::npos || !(open_flags & FILE_READ)) return INVALID_HANDLE;
  auto file = std::make_unique<std::ifstream>(std::string(folder) + "/" + name);
  if (!*file) return INVALID_HANDLE;
  openFiles[nextFileHandle] = std::move(file);
  return nextFileHandle++;
}
string FileReadString(int file_handle, int) {
  auto found = openFiles.find(file_handle);
  std::string line;
  if (found == openFiles.end() || !std::getline(*found->second, line)) return string();
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return string(line.c_str());
}
bool FileIsEnding(int file_handle) {
  auto found = openFiles.find(file_handle);
  return found == openFiles.end() || found->second->peek() == std::char_traits<char>::eof();
}
void FileClose(int file_handle) { openFiles.erase(file_handle); }
