using System.Text;
using Cryo.Format;

namespace Cryo.Dump;

/// <summary>
/// The readable tree (default) and, with a <see cref="Normalizer"/>, the golden form. In the
/// golden form an area's PAGE items become one line with their total size (how the data was cut
/// into items is the writer's business), consecutive anonymous areas the kernel may or may not have
/// merged are shown merged, and the kernel mappings are one line after the process's last area:
/// which ones a process has and where they sit depend on the kernel (only some list [vsyscall];
/// the vDSO sits above the stack in 5.10 and 6.1, in the mmap area in later kernels).
/// </summary>
public sealed class TreePrinter(TextWriter output, IReadOnlySet<string>? tags, Normalizer? normalizer)
{
    private string? _kernelMappingsIndent; // golden form: kernel mappings seen, their line not printed yet
    private MemoryArea? _area;      // golden form: the area whose pages are being summed
    private string _areaIndent = "";
    private long _areaPageBytes;

    public void Header(CheckpointHeader header)
    {
        if (normalizer is not null) { output.WriteLine(Normalizer.HeaderLine(header)); return; }
        output.WriteLine($"header {Fields(header.Describe())}");
    }

    public void Item(CheckpointItem item, int depth, CheckpointReader reader)
    {
        if (tags is not null && !tags.Contains(item.Tag.ToString()))
        {
            // The golden form's pending area and kernel-mappings line end where the areas end, shown or not.
            if (normalizer is not null && item is not (MemoryArea or PageData)) { FlushArea(); FlushKernelMappings(); }
            return;
        }
        string indent = new(' ', 2 * depth);
        if (normalizer is not null && Golden(item, indent)) return;
        switch (item)
        {
            case SectionBegin b: output.WriteLine($"{indent}{b.Section}"); break;
            case SectionEnd e: output.WriteLine($"{indent}END {e.Section}"); break;
            case UnknownItem u:
                output.WriteLine($"{indent}{u.Tag} (unknown optional item, {u.Payload.Length} bytes, skipped)"); break;
            default:
                string prefix = normalizer is null ? $"{indent}{item.Tag} @{reader.ItemOffset}" : $"{indent}{item.Tag}";
                string fields = Fields(item.Describe());
                output.WriteLine(fields.Length == 0 ? prefix : $"{prefix} {fields}");
                break;
        }
    }

    /// <summary>The golden form's own handling of memory items; true when the item is done with.</summary>
    private bool Golden(CheckpointItem item, string indent)
    {
        if (item is PageData page && _area is not null)
        {
            _areaPageBytes += page.Data.Length;
            return true;
        }
        if (item is MemoryArea next && _area is not null && Mergeable(_area, next))
        {
            ulong shift = (_area.End - _area.Start) / 4096;
            var runs = Coalesce([.. _area.Runs, .. next.Runs.Select(r => r with { FirstPage = r.FirstPage + shift })]);
            _area = _area with { End = _area.End + (next.End - next.Start), Runs = runs };
            return true;
        }
        FlushArea();
        if (Normalizer.IsKernelMapping(item))
        {
            _kernelMappingsIndent = indent;
            return true;
        }
        if (item is MemoryArea area)
        {
            (_area, _areaIndent, _areaPageBytes) = (area, indent, 0);
            return true;
        }
        FlushKernelMappings();
        return false;
    }

    private void FlushKernelMappings()
    {
        if (_kernelMappingsIndent is null) return;
        output.WriteLine($"{_kernelMappingsIndent}AREA kernel-mappings");
        _kernelMappingsIndent = null;
    }

    /// <summary>
    /// Consecutive anonymous private areas with the same protection and flags. The kernel merges
    /// such neighbours when they touch, and whether they touch depends on the run (where ld.so and
    /// libc put their own small areas), so the golden form always shows them as one.
    /// </summary>
    private static bool Mergeable(MemoryArea a, MemoryArea b) =>
        a.Kind == MemoryAreaKind.AnonymousPrivate && b.Kind == MemoryAreaKind.AnonymousPrivate &&
        a.Protection == b.Protection && a.MapFlags == b.MapFlags;

    private static PageRun[] Coalesce(IEnumerable<PageRun> runs)
    {
        var merged = new List<PageRun>();
        foreach (var run in runs)
        {
            if (merged.Count > 0 && merged[^1].FirstPage + merged[^1].PageCount == run.FirstPage)
                merged[^1] = merged[^1] with { PageCount = merged[^1].PageCount + run.PageCount };
            else merged.Add(run);
        }
        return [.. merged];
    }

    private void FlushArea()
    {
        if (_area is null) return;
        var area = _area;
        _area = null;
        if (Normalizer.HasVolatilePages(area))
        {
            output.WriteLine($"{_areaIndent}AREA {Fields(area.Describe().Where(f => f.Name != "runs").ToList())} runs=<var>");
            if (_areaPageBytes > 0) output.WriteLine($"{_areaIndent}PAGE <the stack's pages>");
            return;
        }
        output.WriteLine($"{_areaIndent}AREA {Fields(area.Describe())}");
        if (_areaPageBytes > 0) output.WriteLine($"{_areaIndent}PAGE <{_areaPageBytes} bytes>");
    }

    public void Trailer(Trailer trailer)
    {
        FlushArea();
        FlushKernelMappings();
        if (tags is not null && !tags.Contains("TRLR")) return;
        output.WriteLine(normalizer is null ? $"TRLR {Fields(trailer.Describe())}" : "TRLR");
    }

    private string Fields(IReadOnlyList<ItemField> fields)
    {
        var sb = new StringBuilder();
        foreach (var f in fields)
        {
            if (sb.Length > 0) sb.Append(' ');
            sb.Append(f.Name).Append('=').Append(Value(f));
        }
        return sb.ToString();
    }

    private string Value(ItemField f)
    {
        if (f.Value is IReadOnlyList<IReadOnlyList<ItemField>> list && !(normalizer is not null && f.Kind == FieldKind.Volatile))
            return "[" + string.Join(", ", list.Select(entry => "{" + Fields(entry) + "}")) + "]";
        return normalizer?.Value(f) ?? ItemFieldFormatter.Plain(f);
    }
}
