import Testing
import TernWeb

@Test func escapesMarkupAndQuotes() {
    #expect(HTML.escape("<script>alert('x') & \"y\"</script>") == "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;")
    #expect(HTML.escape("plain ü 日本") == "plain ü 日本")
}
