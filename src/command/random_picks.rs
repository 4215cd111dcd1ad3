//! The random draws of SRANDMEMBER, HRANDFIELD and ZRANDMEMBER, shared: the
//! count argument with Redis's checks, and which elements a count picks
//! (a negative count draws with replacement, a positive one distinct
//! elements), from the node's seeded generator.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::{int_arg, CmdError};
use crate::resp::Argv;

/// The optional count at `argv[2]` and whether `argv[3]` is `with_word`
/// (WITHSCORES, WITHVALUES; `None` for a command without one), with
/// Redis's errors.
pub(super) fn count_argument(
    argv: Argv<'_>,
    with_word: Option<&[u8]>,
) -> Result<(Option<i64>, bool), CmdError> {
    let most = if with_word.is_some() { 4 } else { 3 };
    if argv.len() > most {
        return Err(CmdError::Syntax);
    }
    let count = if argv.len() >= 3 {
        let n = int_arg(argv.get(2))?;
        if n == i64::MIN {
            return Err(CmdError::err(
                "value is out of range, value must between -9223372036854775807 and 9223372036854775807",
            ));
        }
        Some(n)
    } else {
        None
    };
    let with = argv.len() == 4;
    if with && !with_word.is_some_and(|word| argv.get(3).eq_ignore_ascii_case(word)) {
        return Err(CmdError::Syntax);
    }
    // Redis refuses counts whose pairs would overflow the reply length.
    if with && count.is_some_and(|n| !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&n)) {
        return Err(CmdError::err("value is out of range"));
    }
    Ok((count, with))
}

/// How many elements `count` picks out of `len` (none from nothing).
pub(super) fn picks(len: usize, count: i64) -> usize {
    if len == 0 {
        0
    } else if count < 0 {
        count.unsigned_abs() as usize
    } else {
        (count as usize).min(len)
    }
}

/// The indices `count` picks out of `len`, drawn as they are written (a
/// negative count may ask for far more than is worth collecting first).
pub(super) fn pick_indices(
    rng: &mut ChaCha8Rng,
    len: usize,
    count: i64,
) -> impl Iterator<Item = usize> + '_ {
    let wanted = picks(len, count);
    let mut pool: Vec<usize> = if count < 0 {
        Vec::new()
    } else {
        (0..len).collect()
    };
    (0..wanted).map(move |_| {
        if count < 0 {
            rng.gen_range(0..len)
        } else {
            pool.swap_remove(rng.gen_range(0..pool.len()))
        }
    })
}
