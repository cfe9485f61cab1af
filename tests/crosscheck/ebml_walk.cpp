// ebml_walk: lists every element of a Matroska file as libebml/libmatroska read it.
//
// An independent cross-check of kvsparser's element reader: the parsing is done by libebml's
// own machinery (EbmlStream::FindNextElement with libmatroska's semantic contexts, ReadData on
// leaves, SkipData on unknown elements). This program only keeps the stack of open masters,
// closes finite masters when their data ends and unknown-size masters when libebml reports an
// upper-level element, and prints what it was given.
//
// usage: ebml_walk [--names] FILE
//
// One line per element, in file order:
//   <ID as 0x%X> <offset of the first ID byte> <header size (ID + size field)> <data size|?>
// (--names appends the depth and libebml's name of the element's class.)
// Last line:
//   END ok <file size> reached end of file                   exit status 0
//   END error <offset where reading stopped> <reason>         exit status 1
// Usage or I/O errors: exit status 2.
//
// Strictness: an element must start exactly where the previous one (or its parent's header)
// ended. libebml's FindNextElement silently resynchronises (scans forward byte by byte) when it
// cannot read an element at the current position; that is reported as an error here, never
// skipped.
//
// libebml care points, implemented here rather than hidden:
//  * An unknown-size Segment/Cluster is ended by an element of an upper level: FindNextElement
//    returns it with UpperLevel > 0 (1 = sibling of the current master, 2 = sibling of its
//    parent, ...). The walker closes that many levels and continues with that element.
//  * libmatroska's Segment context is an orphan (no parent context), so the EBML header that
//    starts the next chained file inside an unknown-size Segment comes back from
//    FindNextElement as an EbmlDummy child (UpperLevel 0). When libebml returns a dummy while
//    unknown-size masters are open, the walker looks the ID up in the contexts of those open
//    masters' parents (the top-level context KaxMatroska_Context holds EbmlHead and Segment);
//    if found, it closes the unknown-size levels and re-reads the element with
//    FindNextElement in that parent's context, so libebml builds the real element.
//  * libebml 1.4.4's FindNextElement leaves a known-size KaxSegment marked as unknown-size
//    (KaxSegment's constructor sets "unknown size" and FindNextElement never clears it). The
//    walker decodes the size field with libebml's ReadCodedSizeValue and clears the flag when
//    the value is not the all-ones "unknown" marker (see size_really_unknown()).
//  * At end of file every open unknown-size master is closed; an open finite-size master is an
//    error (the file is cut inside it).

#include <ebml/EbmlCrc32.h>
#include <ebml/EbmlDummy.h>
#include <ebml/EbmlElement.h>
#include <ebml/EbmlHead.h>
#include <ebml/EbmlMaster.h>
#include <ebml/EbmlStream.h>
#include <ebml/EbmlVoid.h>
#include <ebml/StdIOCallback.h>
#include <matroska/KaxContexts.h>
#include <matroska/KaxSegment.h>

#include <sys/stat.h>

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

using namespace libebml;
using namespace libmatroska;

namespace {

struct Level {
    const EbmlSemanticContext *ctx; // context children are looked up in
    std::string name;               // libebml's name of the master ("file" for the top)
    std::uint32_t id;
    std::uint64_t offset;
    bool finite;
    std::uint64_t end;              // end of data when finite
};

struct Failure {
    std::uint64_t pos;
    std::string reason;
};

std::string hex_id(std::uint32_t id)
{
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%" PRIX32, id);
    return buf;
}

std::uint32_t id_of(EbmlElement &e)
{
    const EbmlId &id = e; // EbmlDummy's conversion operator is non-const
    return static_cast<std::uint32_t>(EBML_ID_VALUE(id));
}

bool context_has(const EbmlSemanticContext &ctx, const EbmlId &id)
{
    for (std::size_t i = 0; i < EBML_CTX_SIZE(ctx); i++)
        if (EBML_CTX_IDX_ID(ctx, i) == id)
            return true;
    return false;
}

class Walker {
public:
    Walker(const char *path, std::uint64_t file_size, bool names)
        : io_(path, MODE_READ), stream_(io_), fsize_(file_size), names_(names)
    {
        stack_.push_back(Level{&KaxMatroska_Context, "file", 0, 0, false, fsize_});
    }

    // Returns true if the whole file was read.
    bool run(Failure &fail);
    std::uint64_t count() const { return count_; }

private:
    StdIOCallback io_;
    EbmlStream stream_;
    std::uint64_t fsize_;
    bool names_;
    std::vector<Level> stack_;
    std::uint64_t count_ = 0;

    // End of the data of the innermost finite-size master, or none (kNoLimit) when only
    // unknown-size masters are open: the file itself has no declared size, so its end is not
    // given to libebml as a bound (mkvinfo does the same); elements running past the end of file
    // are reported by the walker instead.
    static constexpr std::uint64_t kNoLimit = ~static_cast<std::uint64_t>(0);
    std::uint64_t limit() const
    {
        for (std::size_t i = stack_.size(); i-- > 1;)
            if (stack_[i].finite)
                return stack_[i].end;
        return kNoLimit;
    }
    std::string where(const Level &l) const
    {
        if (&l == &stack_.front())
            return "the top level";
        return l.name + " (" + hex_id(l.id) + ") at " + std::to_string(l.offset);
    }
    std::string diagnose(std::uint64_t pos);
    bool size_really_unknown(EbmlElement &e, std::uint64_t data, std::string &why);
    EbmlElement *find(const EbmlSemanticContext &ctx, std::uint64_t pos, int &upper);
};

EbmlElement *Walker::find(const EbmlSemanticContext &ctx, std::uint64_t pos, int &upper)
{
    io_.setFilePointer(static_cast<int64>(pos), seek_beginning);
    upper = 0;
    const std::uint64_t lim = limit();
    return stream_.FindNextElement(ctx, upper, lim == kNoLimit ? kNoLimit : lim - pos,
                                   true /* AllowDummyElt */);
}

// libebml 1.4's FindNextElement only ever sets "unknown size" on the elements it creates, never
// "known size": an element whose constructor starts out unknown-size (libmatroska's KaxSegment
// does) stays IsFiniteSize() == false even when its size field holds a real size. Decide with
// libebml's own decoder (ReadCodedSizeValue) on the size field whether the size is the
// all-ones "unknown" value; false with an empty `why` means a known size (the element's raw
// Size member, EbmlElement::GetSize(), already holds it).
bool Walker::size_really_unknown(EbmlElement &e, std::uint64_t data, std::string &why)
{
    const unsigned len = static_cast<unsigned>(e.GetSizeLength());
    binary field[8];
    if (len < 1 || len > 8 || data < len) {
        why = "size field length " + std::to_string(len) + " out of range";
        return true;
    }
    io_.setFilePointer(static_cast<int64>(data - len), seek_beginning);
    if (io_.read(field, len) != len) {
        why = "cannot re-read the size field";
        return true;
    }
    std::uint32_t coded = len;
    std::uint64_t unknown_value = 0;
    const std::uint64_t value = ReadCodedSizeValue(field, coded, unknown_value);
    if (coded != len || value != e.EbmlElement::GetSize()) {
        why = "size field does not decode to the size libebml stored";
        return true;
    }
    return value == unknown_value;
}

// Why libebml could not read an element at pos: read the raw header with FindNextID and no
// size limit (it does not resynchronise) and describe it.
std::string Walker::diagnose(std::uint64_t pos)
{
    std::ostringstream out;
    io_.setFilePointer(static_cast<int64>(pos), seek_beginning);
    std::unique_ptr<EbmlElement> e;
    try {
        e.reset(stream_.FindNextID(EBML_INFO(EbmlVoid), ~static_cast<std::uint64_t>(0)));
    } catch (const std::exception &ex) {
        out << "FindNextID threw: " << ex.what();
        return out.str();
    }
    if (!e) {
        out << "FindNextID reads no EBML element header at " << pos;
        if (io_.getFilePointer() >= fsize_)
            out << " (it reached the end of file at " << fsize_
                << " without a complete ID and size)";
        else
            out << " (invalid ID or size coding, or unknown size on a non-master element)";
        return out.str();
    }
    const std::uint64_t data = io_.getFilePointer();
    out << "header there: ID " << hex_id(id_of(*e)) << ", header " << (data - pos) << " bytes, ";
    if (!e->IsFiniteSize()) {
        out << "unknown size";
        return out.str();
    }
    const std::uint64_t end = data + e->GetSize();
    out << "data size " << e->GetSize() << ", data would end at " << end;
    if (end > fsize_)
        out << ", past the end of file at " << fsize_ << " (" << (end - fsize_)
            << " bytes missing: element cut off)";
    else if (limit() != kNoLimit && end > limit())
        out << ", past the end of its parent at " << limit();
    else
        out << "; libebml's FindNextElement rejected it in the context of " << where(stack_.back());
    return out.str();
}

bool Walker::run(Failure &fail)
{
    for (;;) {
        std::uint64_t pos = io_.getFilePointer();

        // Close finite-size masters whose data ends here.
        while (stack_.size() > 1 && stack_.back().finite && pos >= stack_.back().end) {
            if (pos > stack_.back().end) {
                fail = {pos, "read past the end of " + where(stack_.back()) + " which ends at " +
                                 std::to_string(stack_.back().end)};
                return false;
            }
            stack_.pop_back();
        }

        if (pos >= fsize_) {
            // End of file closes unknown-size masters; a finite one still open is cut off.
            for (std::size_t i = stack_.size(); i-- > 1;) {
                if (stack_[i].finite) {
                    fail = {pos, "file ends at " + std::to_string(fsize_) + " inside " +
                                     where(stack_[i]) + " whose data ends at " +
                                     std::to_string(stack_[i].end)};
                    return false;
                }
            }
            stack_.resize(1);
            return true;
        }

        int upper = 0;
        std::unique_ptr<EbmlElement> e;
        try {
            e.reset(find(*stack_.back().ctx, pos, upper));
        } catch (const std::exception &ex) {
            fail = {pos, std::string("FindNextElement threw: ") + ex.what()};
            return false;
        }
        if (!e) {
            fail = {pos, "libebml's FindNextElement found no element in the context of " +
                             where(stack_.back()) + "; " + diagnose(pos)};
            return false;
        }
        if (e->GetElementPosition() != pos) {
            const std::uint64_t got = e->GetElementPosition();
            const std::string found = hex_id(id_of(*e));
            fail = {pos, "libebml cannot read an element at " + std::to_string(pos) +
                             " (FindNextElement resynchronised " + std::to_string(got - pos) +
                             " bytes later on " + found + " at " + std::to_string(got) + "); " +
                             diagnose(pos)};
            return false;
        }

        std::size_t parent = stack_.size() - 1; // index of the level the element belongs to
        if (upper > 0) {
            // An element of an upper level ends `upper` open masters; only unknown-size ones
            // may end that way.
            if (static_cast<std::size_t>(upper) > stack_.size() - 1) {
                fail = {pos, "libebml reports " + hex_id(id_of(*e)) + " " + std::to_string(upper) +
                                 " levels up from " + where(stack_.back()) +
                                 ", above the top level"};
                return false;
            }
            for (std::size_t i = stack_.size() - static_cast<std::size_t>(upper);
                 i < stack_.size(); i++) {
                if (stack_[i].finite) {
                    fail = {pos, "upper-level element " + hex_id(id_of(*e)) + " (" +
                                     EBML_NAME(e.get()) + ") found inside " + where(stack_[i]) +
                                     " before its end at " + std::to_string(stack_[i].end)};
                    return false;
                }
            }
            parent = stack_.size() - 1 - static_cast<std::size_t>(upper);
        } else if (e->IsDummy() && !stack_.back().finite) {
            // Not known in the current context chain: is it a child of an ancestor that
            // libmatroska's (orphan) contexts do not link to, e.g. the next EBML header after an
            // unknown-size Segment?
            const EbmlId &id = *e;
            const EbmlId wanted(EBML_ID_VALUE(id), EBML_ID_LENGTH(id));
            for (std::size_t i = stack_.size() - 1; i-- > 0;) {
                if (stack_[i + 1].finite)
                    break;
                if (context_has(*stack_[i].ctx, wanted)) {
                    stack_.resize(i + 1);
                    try {
                        e.reset(find(*stack_[i].ctx, pos, upper));
                    } catch (const std::exception &ex) {
                        fail = {pos, std::string("FindNextElement threw: ") + ex.what()};
                        return false;
                    }
                    if (!e || e->GetElementPosition() != pos || upper > 0 || e->IsDummy()) {
                        fail = {pos, "re-reading " + hex_id(wanted.GetValue()) +
                                         " in the context of " + where(stack_[i]) +
                                         " failed; " + diagnose(pos)};
                        return false;
                    }
                    parent = i;
                    break;
                }
            }
        }
        stack_.resize(parent + 1);

        const std::uint64_t data = io_.getFilePointer();
        const std::uint32_t id = id_of(*e);
        const std::uint64_t header = data - pos;
        if (!e->IsFiniteSize()) {
            std::string why;
            if (!size_really_unknown(*e, data, why)) {
                if (!why.empty()) {
                    fail = {pos, hex_id(id) + ": " + why};
                    return false;
                }
                e->SetSizeInfinite(false);
            }
            io_.setFilePointer(static_cast<int64>(data), seek_beginning);
        }
        const bool finite = e->IsFiniteSize();
        const std::uint64_t size = finite ? e->GetSize() : 0;
        const std::uint64_t end = data + size;

        auto *master = dynamic_cast<EbmlMaster *>(e.get());
        const bool is_master = master && !e->IsDummy();
        const char *name = e->IsDummy() ? "(unknown)" : EBML_NAME(e.get());

        // FindNextElement does not check sizes against the parent when UpperLevel > 0, and it is
        // given no bound at all when no finite-size master is open.
        const std::uint64_t lim = limit();
        if (finite && lim != kNoLimit && end > lim) {
            fail = {pos, hex_id(id) + " (" + name + ") at " + std::to_string(pos) + " ends at " +
                             std::to_string(end) + ", past the end of its parent at " +
                             std::to_string(lim) +
                             (lim > fsize_ ? " (the parent runs past the end of file too)" : "")};
            return false;
        }
        // A leaf whose data runs past the end of file cannot be read; a master can be entered,
        // its children then run into the end of file.
        if (finite && !is_master && end > fsize_) {
            fail = {pos, hex_id(id) + " (" + name + ") at " + std::to_string(pos) + ": header " +
                             std::to_string(header) + " bytes, data size " + std::to_string(size) +
                             ", data would end at " + std::to_string(end) +
                             ", past the end of file at " + std::to_string(fsize_) + " (" +
                             std::to_string(end - fsize_) + " bytes missing: element cut off)"};
            return false;
        }

        std::printf("%s %" PRIu64 " %" PRIu64 " ", hex_id(id).c_str(), pos, header);
        if (finite)
            std::printf("%" PRIu64, size);
        else
            std::printf("?");
        if (names_)
            std::printf(" %zu %s", stack_.size() - 1, name);
        std::printf("\n");
        count_++;

        if (is_master) {
            stack_.push_back(Level{&EBML_CONTEXT(master), EBML_NAME(master), id, pos, finite, end});
            continue; // children follow at `data`
        }
        if (!finite) {
            fail = {pos, hex_id(id) + ": unknown size on a non-master element"};
            return false;
        }
        try {
            if (e->IsDummy()) {
                e->SkipData(stream_, *stack_.back().ctx);
            } else {
                e->ReadData(io_, SCOPE_ALL_DATA);
            }
        } catch (const std::exception &ex) {
            fail = {pos, hex_id(id) + " (" + EBML_NAME(e.get()) + "): ReadData threw: " + ex.what()};
            return false;
        } catch (...) {
            fail = {pos, hex_id(id) + " (" + EBML_NAME(e.get()) + "): ReadData threw"};
            return false;
        }
        const std::uint64_t after = io_.getFilePointer();
        if (after != end) {
            fail = {pos, hex_id(id) + " (" + (e->IsDummy() ? "unknown" : EBML_NAME(e.get())) +
                             "): reading its data left the file at " + std::to_string(after) +
                             ", not at its end " + std::to_string(end)};
            return false;
        }
    }
}

} // namespace

int main(int argc, char **argv)
{
    bool names = false;
    const char *path = nullptr;
    bool bad = false;
    for (int i = 1; i < argc; i++) {
        if (std::strcmp(argv[i], "--names") == 0)
            names = true;
        else if (!path && argv[i][0] != '-')
            path = argv[i];
        else
            bad = true;
    }
    if (bad || !path) {
        std::fprintf(stderr, "usage: %s [--names] FILE\n", argv[0]);
        return 2;
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        std::fprintf(stderr, "%s: cannot stat %s as a regular file\n", argv[0], path);
        return 2;
    }
    const std::uint64_t fsize = static_cast<std::uint64_t>(st.st_size);

    bool ok = false;
    Failure fail{0, ""};
    std::uint64_t count = 0;
    try {
        Walker w(path, fsize, names);
        ok = w.run(fail);
        count = w.count();
    } catch (const std::exception &ex) {
        std::fprintf(stderr, "%s: %s: %s\n", argv[0], path, ex.what());
        return 2;
    }
    if (ok)
        std::printf("END ok %" PRIu64 " reached end of file (%" PRIu64 " elements)\n", fsize, count);
    else
        std::printf("END error %" PRIu64 " %s (%" PRIu64 " elements before)\n", fail.pos,
                    fail.reason.c_str(), count);
    return ok ? 0 : 1;
}
