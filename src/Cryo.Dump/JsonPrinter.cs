using System.Text.Json;
using Cryo.Format;

namespace Cryo.Dump;

/// <summary>
/// The --json form (schema "cryo-dump/1", docs/cryo-dump.md): the header, then every item with
/// index, offset, tag, frame kind, criticality, payload length and decoded fields, then the trailer.
/// Written as the file is read, so a dump of a large file needs little memory.
/// </summary>
public sealed class JsonPrinter(Stream output, IReadOnlySet<string>? tags) : IDisposable
{
    private readonly Utf8JsonWriter _json = new(output, new JsonWriterOptions { Indented = true });

    public void Header(CheckpointHeader header)
    {
        _json.WriteStartObject();
        _json.WriteString("schema", "cryo-dump/1");
        _json.WritePropertyName("header");
        Fields(header.Describe());
        _json.WriteStartArray("items");
    }

    public void Item(CheckpointItem item, CheckpointReader reader)
    {
        if (tags is not null && !tags.Contains(item.Tag.ToString())) return;
        _json.WriteStartObject();
        _json.WriteNumber("index", reader.ItemIndex);
        _json.WriteNumber("offset", reader.ItemOffset);
        _json.WriteString("tag", item.Tag.ToString());
        _json.WriteString("frame", item switch { SectionBegin => "begin", SectionEnd => "end", UnknownItem => "unknown", _ => "item" });
        _json.WriteBoolean("critical", reader.ItemFlags.HasFlag(ItemFlags.Critical));
        _json.WriteNumber("length", reader.ItemPayloadLength);
        _json.WritePropertyName("fields");
        Fields(item.Describe());
        _json.WriteEndObject();
        _json.Flush();
    }

    public void Trailer(Trailer trailer)
    {
        _json.WriteEndArray();
        _json.WritePropertyName("trailer");
        Fields(trailer.Describe());
        _json.WriteEndObject();
        _json.Flush();
        output.Write("\n"u8);
    }

    private void Fields(IReadOnlyList<ItemField> fields)
    {
        _json.WriteStartObject();
        foreach (var f in fields)
        {
            _json.WritePropertyName(f.Name);
            Value(f);
        }
        _json.WriteEndObject();
    }

    private void Value(ItemField f)
    {
        switch (f.Value)
        {
            case ulong u: _json.WriteNumberValue(u); break;
            case long l: _json.WriteNumberValue(l); break;
            case IReadOnlyList<IReadOnlyList<ItemField>> list:
                _json.WriteStartArray();
                foreach (var entry in list) Fields(entry);
                _json.WriteEndArray();
                break;
            case byte[] text when f.Kind is FieldKind.Text or FieldKind.Volatile:
                // Paths are bytes: printable ASCII as is, any other byte as \xNN.
                _json.WriteStringValue(ItemFieldFormatter.EscapeBytes(text));
                break;
            case byte[] or ReadOnlyMemory<byte>:
                var span = ItemFieldFormatter.BlobSpan(f.Value);
                _json.WriteStartObject();
                _json.WriteNumber("length", span.Length);
                _json.WriteNumber("crc32c", Crc32C.Compute(span));
                _json.WriteEndObject();
                break;
            default: throw new InvalidOperationException($"no JSON form for field '{f.Name}' ({f.Value.GetType()})");
        }
    }

    public void Dispose() => _json.Dispose();
}
