#pragma once
/// A minimal PNG writer for 8-bit grayscale images: one IHDR, one IDAT holding a zlib stream of
/// stored (uncompressed) deflate blocks, one IEND. Images here are tiny, so compression is not worth
/// code; every PNG reader accepts stored blocks.
#include <array>
#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace toy_diffusion {

/// CRC-32 (ISO 3309, reflected polynomial 0xEDB88320) as PNG chunks use it.
inline std::uint32_t crc32(const unsigned char* data, std::size_t n, std::uint32_t crc = 0) {
  static const std::array<std::uint32_t, 256> table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1U) ? 0xEDB88320U ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  crc = ~crc;
  for (std::size_t i = 0; i < n; ++i) crc = table[(crc ^ data[i]) & 0xFFU] ^ (crc >> 8);
  return ~crc;
}

/// Adler-32 of the zlib stream (RFC 1950).
inline std::uint32_t adler32(const unsigned char* data, std::size_t n) {
  std::uint32_t a = 1, b = 0;
  for (std::size_t i = 0; i < n; ++i) {
    a = (a + data[i]) % 65521U;
    b = (b + a) % 65521U;
  }
  return (b << 16) | a;
}

namespace internal {
inline void put_u32(std::vector<unsigned char>& out, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<unsigned char>((v >> s) & 0xFFU));
}
inline void put_chunk(std::vector<unsigned char>& out, const char* type, const std::vector<unsigned char>& payload) {
  put_u32(out, static_cast<std::uint32_t>(payload.size()));
  const std::size_t start = out.size();
  out.insert(out.end(), type, type + 4);
  out.insert(out.end(), payload.begin(), payload.end());
  put_u32(out, crc32(out.data() + start, out.size() - start));
}
}  // namespace internal

/// The bytes of a PNG file for a width x height grayscale image (row-major, one byte per pixel).
inline std::vector<unsigned char> encode_png_gray(const std::vector<unsigned char>& pixels, int width, int height) {
  if (width <= 0 || height <= 0 || pixels.size() != static_cast<std::size_t>(width) * static_cast<std::size_t>(height))
    throw std::invalid_argument("encode_png_gray: pixel count does not match width x height");
  // Raw scanlines, each prefixed with filter type 0 (none).
  std::vector<unsigned char> raw;
  raw.reserve(pixels.size() + static_cast<std::size_t>(height));
  for (int y = 0; y < height; ++y) {
    raw.push_back(0);
    const auto row = pixels.begin() + static_cast<std::ptrdiff_t>(y) * width;
    raw.insert(raw.end(), row, row + width);
  }
  // zlib: header 0x78 0x01 (deflate, 32K window, check bits valid), stored blocks of <= 65535 bytes.
  std::vector<unsigned char> z = {0x78, 0x01};
  std::size_t pos = 0;
  do {
    const std::size_t len = std::min<std::size_t>(65535, raw.size() - pos);
    const bool last = pos + len == raw.size();
    z.push_back(last ? 1 : 0);
    z.push_back(static_cast<unsigned char>(len & 0xFFU));
    z.push_back(static_cast<unsigned char>(len >> 8));
    z.push_back(static_cast<unsigned char>(~len & 0xFFU));
    z.push_back(static_cast<unsigned char>((~len >> 8) & 0xFFU));
    z.insert(z.end(), raw.begin() + static_cast<std::ptrdiff_t>(pos),
             raw.begin() + static_cast<std::ptrdiff_t>(pos + len));
    pos += len;
  } while (pos < raw.size());
  internal::put_u32(z, adler32(raw.data(), raw.size()));

  std::vector<unsigned char> out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  std::vector<unsigned char> ihdr;
  internal::put_u32(ihdr, static_cast<std::uint32_t>(width));
  internal::put_u32(ihdr, static_cast<std::uint32_t>(height));
  ihdr.insert(ihdr.end(), {8, 0, 0, 0, 0});  // bit depth 8, grayscale, deflate, filter 0, no interlace
  internal::put_chunk(out, "IHDR", ihdr);
  internal::put_chunk(out, "IDAT", z);
  internal::put_chunk(out, "IEND", {});
  return out;
}

inline void write_png_gray(const std::string& path, const std::vector<unsigned char>& pixels, int width, int height) {
  const auto bytes = encode_png_gray(pixels, width, height);
  std::ofstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot write " + path);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!f) throw std::runtime_error("write failed: " + path);
}

}  // namespace toy_diffusion
