using Cryo.Format;

namespace Cryo.Tests.Format;

/// <summary>Structural comparison of items through their described fields (records hold arrays, which compare by reference).</summary>
public static class ItemComparer
{
    public static string? Difference(CheckpointItem expected, CheckpointItem actual)
    {
        if (expected.GetType() != actual.GetType() || expected.Tag != actual.Tag)
            return $"expected {expected.GetType().Name} '{expected.Tag}', got {actual.GetType().Name} '{actual.Tag}'";
        return Difference(expected.Describe(), actual.Describe(), expected.Tag.ToString());
    }

    private static string? Difference(IReadOnlyList<ItemField> e, IReadOnlyList<ItemField> a, string where)
    {
        if (e.Count != a.Count) return $"{where}: {e.Count} fields expected, {a.Count} found";
        for (int i = 0; i < e.Count; i++)
        {
            string at = $"{where}.{e[i].Name}";
            if (e[i].Name != a[i].Name || e[i].Kind != a[i].Kind) return $"{at}: field {a[i].Name} ({a[i].Kind}) instead";
            switch (e[i].Value)
            {
                case IReadOnlyList<IReadOnlyList<ItemField>> list:
                    var other = (IReadOnlyList<IReadOnlyList<ItemField>>)a[i].Value;
                    if (list.Count != other.Count) return $"{at}: {list.Count} entries expected, {other.Count} found";
                    for (int j = 0; j < list.Count; j++)
                        if (Difference(list[j], other[j], $"{at}[{j}]") is { } d) return d;
                    break;
                case byte[] or ReadOnlyMemory<byte>:
                    if (!ItemFieldFormatter.BlobSpan(e[i].Value).SequenceEqual(ItemFieldFormatter.BlobSpan(a[i].Value))) return $"{at}: bytes differ";
                    break;
                default:
                    if (!Equals(e[i].Value, a[i].Value)) return $"{at}: expected {e[i].Value}, got {a[i].Value}";
                    break;
            }
        }
        return null;
    }
}
