using System.Text;
using Cryo.Format;

namespace Cryo.Dump;

/// <summary>The readable tree (default) and, with a <see cref="Normalizer"/>, the golden form.</summary>
public sealed class TreePrinter(TextWriter output, IReadOnlySet<string>? tags, Normalizer? normalizer)
{
    private bool _inKernelMappings;

    public void Header(CheckpointHeader header)
    {
        if (normalizer is not null) { output.WriteLine(Normalizer.HeaderLine(header)); return; }
        output.WriteLine($"header {Fields(header.Describe())}");
    }

    public void Item(CheckpointItem item, int depth, CheckpointReader reader)
    {
        if (tags is not null && !tags.Contains(item.Tag.ToString())) return;
        string indent = new(' ', 2 * depth);
        if (normalizer is not null && Normalizer.IsKernelMapping(item))
        {
            // One line for the whole group, however the kernel lays it out.
            if (!_inKernelMappings) output.WriteLine($"{indent}AREA kernel-mappings");
            _inKernelMappings = true;
            return;
        }
        _inKernelMappings = false;
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

    public void Trailer(Trailer trailer)
    {
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
