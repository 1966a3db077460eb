<?php
// Router for `php -S HOST:PORT -t /usr/share/mediawiki router.php` (see start.sh).
// MediaWiki itself needs no routing: php -S runs index.php, api.php, load.php, rest.php
// (with PATH_INFO, so /index.php/Main_Page works) and sends static files from resources/,
// skins/ and extensions/ itself. This script only answers what would otherwise be a 404
// that browsers request on their own, so tests watching for failed requests stay quiet.
$path = parse_url( $_SERVER['REQUEST_URI'] ?? '/', PHP_URL_PATH );
if ( $path === '/favicon.ico' || $path === '/apple-touch-icon.png' ) {
	http_response_code( 204 );
	return true;
}
return false;
