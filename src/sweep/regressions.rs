//! Recording failing seeds in a scenario file's `"regressions"` list,
//! leaving the rest of the file as written.

/// Adds `seeds` to the `"regressions"` list of a scenario file's text,
/// creating the list after `"seeds"` (or `"name"`) when there is none, and
/// leaving the rest of the file as written.
pub fn add_regressions(text: &str, seeds: &[u64]) -> Result<String, String> {
    let numbers = seeds
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    if let Some(key) = text.find("\"regressions\"") {
        let open = text[key..]
            .find('[')
            .map(|i| key + i)
            .ok_or("malformed regressions list")?;
        let close = text[open..]
            .find(']')
            .map(|i| open + i)
            .ok_or("malformed regressions list")?;
        let existing = text[open + 1..close].trim();
        let joined = if existing.is_empty() {
            numbers
        } else {
            format!("{existing}, {numbers}")
        };
        return Ok(format!("{}[{joined}]{}", &text[..open], &text[close + 1..]));
    }
    for anchor in ["\"seeds\"", "\"name\""] {
        if let Some(key) = text.find(anchor) {
            let line_end = text[key..].find('\n').map_or(text.len(), |i| key + i);
            let indent: String = text[..key]
                .rsplit('\n')
                .next()
                .unwrap_or("")
                .chars()
                .take_while(|c| c.is_whitespace())
                .collect();
            let line = &text[key..line_end];
            let separator = if line.trim_end().ends_with(',') {
                ""
            } else {
                ","
            };
            return Ok(format!(
                "{}{separator}\n{indent}\"regressions\": [{numbers}],{}",
                &text[..line_end],
                &text[line_end..]
            ));
        }
    }
    Err("no \"name\" field to put the regressions after".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failing_seeds_are_added_to_the_regressions_list() {
        let with_list = "{\n  \"name\": \"x\",\n  \"regressions\": [3],\n  \"nodes\": {}\n}";
        assert_eq!(
            add_regressions(with_list, &[7, 9]).unwrap(),
            "{\n  \"name\": \"x\",\n  \"regressions\": [3, 7, 9],\n  \"nodes\": {}\n}"
        );
        let without = "{\n  \"name\": \"x\",\n  \"seeds\": 8,\n  \"nodes\": {}\n}";
        assert_eq!(
            add_regressions(without, &[5]).unwrap(),
            "{\n  \"name\": \"x\",\n  \"seeds\": 8,\n  \"regressions\": [5],\n  \"nodes\": {}\n}"
        );
    }
}
